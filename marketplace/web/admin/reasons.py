"""What each dry-run reason code says to the person reading the report."""
from flask_babel import lazy_gettext as _l

REASONS = {
    "bad_encoding": _l("Bad encoding: the row has unreadable characters; save the file as UTF-8 or XLSX."),
    "missing_field": _l("A required value is empty"),
    "malformed_registry_no": _l("Malformed registry number: it must be 10 to 20 digits"),
    "malformed_people_count": _l("Malformed number of people: a whole number from 1 to 30"),
    "malformed_bank_account": _l("Malformed bank account: 12 to 30 digits"),
    "name_too_long": _l("The name is longer than 60 characters"),
    "missing_village": _l("Missing village: no such village in the registry of places; add it first"),
    "ambiguous_village": _l("Several towns have a village of this name: fill in the town column"),
    "duplicate_registry_no": _l("Duplicate registry number; it appears on rows"),
    "other_town": _l("This registry number belongs to a household of another town"),
    "missing_cooperative": _l("No cooperative with this registration number"),
    "unknown_household": _l("No household with this registry number; import the households first"),
    "duplicate_membership": _l("The same household and cooperative appear together on rows"),
    "malformed_date": _l("Malformed date: write it as 2018-03-01"),
    "malformed_share": _l("Malformed share quantity: a number of 0 or more with at most 3 decimals"),
    "changed": _l("Changes"),
}
