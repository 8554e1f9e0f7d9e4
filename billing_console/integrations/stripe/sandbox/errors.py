"""Stripe's error bodies, raised by the sandbox's resource handlers.

Each error knows its HTTP status and renders as Stripe does:
`{"error": {"type", "code", "param", "message", ...}}`.
"""


class StripeApiError(Exception):
    def __init__(self, status, error_type, message, *, code=None, param=None, **extra):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.code = code
        self.param = param
        self.extra = extra

    def body(self):
        error = {"type": self.error_type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


def invalid_request(message, *, code=None, param=None, status=400, **extra):
    return StripeApiError(status, "invalid_request_error", message, code=code, param=param,
                          **extra)


def resource_missing(kind, object_id, *, param="id"):
    return invalid_request(f"No such {kind}: '{object_id}'", code="resource_missing",
                           param=param, status=404)


def parameter_missing(param):
    return invalid_request(f"Missing required param: {param}.", code="parameter_missing",
                           param=param)


def invalid_integer(param, value):
    return invalid_request(f"Invalid integer: {value}", code="parameter_invalid_integer",
                           param=param)


def invalid_enum(param, allowed):
    return invalid_request(f"Invalid {param}: must be one of {', '.join(allowed)}",
                           param=param)


def card_declined(*, charge_id, payment_intent):
    return StripeApiError(402, "card_error", "Your card was declined.", code="card_declined",
                          decline_code="generic_decline", charge=charge_id,
                          payment_intent=payment_intent)
