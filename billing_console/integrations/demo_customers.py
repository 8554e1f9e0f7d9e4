"""The demo's customers: one list that both sandboxes' seeders draw from, so that Zendesk
requesters and Stripe customers share email addresses as they would in real life."""

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kemi", "Liam", "Maya", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tariq",
    "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoe", "Aino", "Bruno", "Carmen", "Diego",
    "Esme", "Femi", "Gita", "Hugo", "Ilse", "Jamal",
)
LAST_NAMES = (
    "Okafor", "Lindqvist", "Moreau", "Patel", "Rossi", "Haddad", "Kim", "Tanaka", "Silva",
    "Weber", "Adeyemi", "Murphy", "Cohen", "Berg", "Ivanova", "Sharma", "Walsh", "Garcia",
    "Nieminen", "Aziz", "Rao", "Novak", "Zhang", "Lopez", "Demir", "Clarke", "Virtanen",
    "Costa", "Ruiz", "Fernandez", "Blake", "Bello", "Iyer", "Laurent", "Vogel", "Khan",
)


def demo_customers():
    """(name, email) for each demo customer, always the same 36, in the same order."""
    return [
        (f"{first} {last}", f"{first}.{last}@example.com".lower())
        for first, last in zip(FIRST_NAMES, LAST_NAMES, strict=True)
    ]
