// An OpenID Connect provider on loopback for the console's tests and demo: panva's
// oidc-provider (certified), with one confidential client, users in groups, and a sign-in
// page of its own. Started by `oidc.sandbox` (Python), which writes its configuration:
//
//   node provider.mjs CONFIG.json
//
// CONFIG: {port, client: {client_id, client_secret, redirect_uris}, jwk (the private
// signing key), users: {username: {password, name, email, groups}}, id_token_ttl}.
//
// Test controls under /_sandbox/ (loopback only, like the Stripe and Zendesk sandboxes'):
//   GET    /_sandbox/users                      the users, with their groups
//   PUT    /_sandbox/users/NAME/groups          body: ["group", ...], from the next token on
//   DELETE /_sandbox/users/NAME                 the user is gone: no sign-in, no renewal
//   POST   /_sandbox/tamper                     body: {"id_token": HOW}; the next token
//          response carries an ID token made wrong in that way: "forged" (signed by another
//          key under the same key id), "expired", "wrong_audience", "wrong_issuer",
//          "wrong_nonce"
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';

import Provider, { interactionPolicy } from 'oidc-provider';
import {
  SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK,
} from 'jose';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const users = new Map(Object.entries(config.users));
const SCOPES = 'openid email profile groups';
let tamper = null;

function claimsOf(username) {
  const user = users.get(username);
  return {
    sub: username,
    preferred_username: username,
    name: user.name,
    email: user.email,
    email_verified: true,
    groups: [...user.groups],
  };
}

// Someone removed here is signed out here too, as at a real provider: their session asks
// for a sign-in again (with prompt=none, the answer is login_required).
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'account_removed', 'End-User authentication is required', 'login_required',
  (ctx) => (users.has(ctx.oidc.session.accountId)
    ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT),
));

const provider = new Provider(issuer, {
  clients: [{
    ...config.client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [config.jwk] },
  // Claims are read when a token is made, so a change of groups shows in the next one.
  async findAccount(ctx, id) {
    if (!users.has(id)) return undefined;
    return { accountId: id, claims: async () => claimsOf(id) };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  // The groups travel in the ID token, signed, as Okta, Azure AD and Keycloak put them.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // The console is the company's own application: consent is given once, for everyone,
  // as an identity provider's admin grants it.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant) return grant;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(SCOPES);
    await grant.save();
    return grant;
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: { IdToken: config.id_token_ttl || 3600 },
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));

// --- tampered ID tokens ----------------------------------------------------------------------

const signingKey = await importJWK(config.jwk, 'RS256');
const stranger = (await generateKeyPair('RS256', { extractable: true })).privateKey;

async function tampered(idToken, how) {
  const header = decodeProtectedHeader(idToken);
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = signingKey;
  if (how === 'forged') key = stranger;
  else if (how === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  else if (how === 'wrong_audience') claims.aud = 'another-application';
  else if (how === 'wrong_issuer') claims.iss = 'http://127.0.0.1:1';
  else if (how === 'wrong_nonce') claims.nonce = 'not-the-nonce-the-console-sent';
  else throw new Error(`unknown tampering ${how}`);
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && tamper && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await tampered(ctx.body.id_token, tamper) };
    tamper = null;
  }
});

// --- the sign-in page ---------------------------------------------------------------------

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function signInPage(uid, message = '') {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Company sign-in</title><link rel="icon" href="data:,"></head><body>
<h1>Company sign-in</h1>
${message ? `<p role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="username">Username</label> <input id="username" name="username" autofocus>
<label for="password">Password</label> <input id="password" name="password" type="password">
<button type="submit">Sign in</button>
</form></body></html>`;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (details.prompt.name !== 'login') {
    // Consent is never asked (loadExistingGrant); anything else is not this sandbox's.
    res.writeHead(501).end(`prompt ${details.prompt.name} not implemented`);
    return;
  }
  if (req.method === 'GET' && !action) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(signInPage(uid));
    return;
  }
  if (req.method === 'POST' && action === 'login') {
    const form = new URLSearchParams(await readBody(req));
    const username = form.get('username') || '';
    const user = users.get(username);
    if (!user || user.password !== form.get('password')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(signInPage(uid, 'Wrong username or password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: username } },
      { mergeWithLastSubmission: false });
    return;
  }
  res.writeHead(405).end();
}

// --- test controls ------------------------------------------------------------------------

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function control(req, res, path) {
  const parts = path.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  if (req.method === 'GET' && parts.length === 1 && parts[0] === 'users') {
    return json(res, 200, Object.fromEntries([...users].map(([name, u]) => [name, u.groups])));
  }
  if (parts[0] === 'users' && parts.length >= 2 && !users.has(parts[1])) {
    return json(res, 404, { error: `no user ${parts[1]}` });
  }
  if (req.method === 'PUT' && parts.length === 3 && parts[0] === 'users' && parts[2] === 'groups') {
    users.get(parts[1]).groups = JSON.parse(await readBody(req));
    return json(res, 200, users.get(parts[1]).groups);
  }
  if (req.method === 'DELETE' && parts.length === 2 && parts[0] === 'users') {
    users.delete(parts[1]);
    return json(res, 200, {});
  }
  if (req.method === 'POST' && parts.length === 1 && parts[0] === 'tamper') {
    tamper = JSON.parse(await readBody(req)).id_token;
    return json(res, 200, { id_token: tamper });
  }
  return json(res, 404, { error: 'no such control' });
}

const handle = provider.callback();
const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, issuer).pathname;
  try {
    if (path.startsWith('/_sandbox/')) return await control(req, res, path);
    const match = path.match(/^\/interaction\/([^/]+)(?:\/(login))?$/);
    if (match) return await interaction(req, res, match[1], match[2]);
    return handle(req, res);
  } catch (error) {
    console.error(error);
    if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(String(error.message || error));
  }
});
server.listen(config.port, '127.0.0.1', () => {
  console.log(`OpenID Connect sandbox listening at ${issuer}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
