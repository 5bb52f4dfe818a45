"""The district's reference data the admin keeps: towns, villages, service points, cooperatives, suppliers.

One service creates or updates any of them and writes an audit row with the old and new
value of every field that changed.
"""
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from marketplace.audit.services import record
from marketplace.coops.models import Cooperative
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.people.models import Supplier, User
from marketplace.places.models import ServicePoint, Town, Village

# kind -> (model, editable fields, how to find the town it belongs to)
KINDS = {
    "town": (Town, ("slug", "name_zh", "name_en"), lambda o: o.id),
    "village": (Village, ("town_id", "name_zh", "name_en", "is_poor_village"), lambda o: o.town_id),
    "service_point": (ServicePoint, ("village_id", "name_zh", "name_en", "address_zh", "is_free_stall"),
                      lambda o: db.session.get(Village, o.village_id).town_id),
    "cooperative": (Cooperative, ("town_id", "village_id", "registration_no", "name_zh", "name_en",
                                  "story_zh", "story_en"), lambda o: o.town_id),
    "supplier": (Supplier, ("name_zh", "name_en", "town_id", "contact_phone", "commission_rate"), lambda o: o.town_id),
}


def save_record(kind, record_id, values, actor_id):
    """Create (`record_id` None) or update one row of `kind`; refuse duplicates with a clear message."""
    actor = db.session.get(User, actor_id)
    if actor is None or actor.role != "admin" or not actor.is_active_account:
        raise Forbidden("Only the platform admin edits the district's places and organisations.")
    if kind not in KINDS:
        raise DomainError("Unknown kind of record.")
    model, fields, town_of = KINDS[kind]
    item = model() if record_id is None else db.session.get(model, record_id)
    if item is None:
        raise NotFound("No such record.")
    changes = {}
    for name in fields:
        if name in values and (record_id is None or getattr(item, name) != values[name]):
            changes[name] = [None if record_id is None else _plain(getattr(item, name)), _plain(values[name])]
            setattr(item, name, values[name])
    if record_id is None:
        db.session.add(item)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict("Another record already has this name or number, or a link points nowhere.") from error
    if changes:
        record(f"{kind}.{'created' if record_id is None else 'updated'}", actor_id, item, town_id=town_of(item),
               changes=changes)
    db.session.commit()
    return item


def _plain(value):
    return value if isinstance(value, (int, bool, type(None))) else str(value)


SEARCHED_ALSO = {"town": ("slug",), "cooperative": ("registration_no",), "service_point": ("address_zh",)}


def search_records(kind, text="", poor_only=False):
    """A query of `kind` rows whose names (or number) contain `text`; villages may be limited to poor ones."""
    model = KINDS[kind][0]
    query = select(model).order_by(model.id)
    text = (text or "").strip()[:60].lower()
    if text:
        columns = [model.name_zh, model.name_en] + [getattr(model, name) for name in SEARCHED_ALSO.get(kind, ())]
        query = query.where(or_(*(func.lower(column).contains(text, autoescape=True) for column in columns)))
    if poor_only and kind == "village":
        query = query.where(Village.is_poor_village.is_(True))
    return query
