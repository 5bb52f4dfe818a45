"""Admin home, the district's places and organisations, and the audit log."""
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from marketplace import reference_data
from marketplace.audit.queries import search_audit
from marketplace.coops.models import Cooperative
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.money import format_percent
from marketplace.imports.models import ImportJob
from marketplace.people.models import Household, Supplier, User
from marketplace.places.models import ServicePoint, Town, Village
from marketplace.web.access import role_required
from marketplace.web.admin import bp
from marketplace.web.admin.forms import CooperativeForm, ServicePointForm, SupplierForm, TownForm, VillageForm
from marketplace.web.security.fields import whole_number

PER_PAGE = 20


class RecordPage:
    """How one kind of reference record is listed and edited."""

    def __init__(self, kind, title, form, columns):
        self.kind, self.title, self.form, self.columns = kind, title, form, columns


RECORD_PAGES = {
    "towns": RecordPage("town", _l("Towns"), TownForm, [
        (_l("Name"), lambda r, loc: r.name(loc)), (_l("Short name for links"), lambda r, loc: r.slug),
        (_l("Villages"), lambda r, loc: len(r.villages))]),
    "villages": RecordPage("village", _l("Villages"), VillageForm, [
        (_l("Name"), lambda r, loc: r.name(loc)), (_l("Town"), lambda r, loc: r.town.name(loc)),
        (_l("Provincial poor village"), lambda r, loc: _("Yes") if r.is_poor_village else "")]),
    "service-points": RecordPage("service_point", _l("Service points"), ServicePointForm, [
        (_l("Name"), lambda r, loc: r.name(loc)), (_l("Village"), lambda r, loc: r.village.name(loc)),
        (_l("Free stall for poor households"), lambda r, loc: _("Yes") if r.is_free_stall else "")]),
    "cooperatives": RecordPage("cooperative", _l("Cooperatives"), CooperativeForm, [
        (_l("Name"), lambda r, loc: r.name(loc)), (_l("Registration number"), lambda r, loc: r.registration_no),
        (_l("Town"), lambda r, loc: r.town.name(loc))]),
    "suppliers": RecordPage("supplier", _l("Suppliers"), SupplierForm, [
        (_l("Name"), lambda r, loc: r.name(loc)), (_l("Contact phone"), lambda r, loc: r.contact_phone),
        (_l("Agreed commission"), lambda r, loc: format_percent(r.commission_rate))]),
}


def paginate(query):
    return db.paginate(query, page=request.args.get("page", 1, type=whole_number), per_page=PER_PAGE, error_out=False)


def place_choices(model, optional=False):
    """(id, name) choices for a select; villages and service points say where they are."""
    query = select(model).order_by(model.id)
    if model is Village:
        query = query.options(joinedload(Village.town))
    elif model is ServicePoint:
        query = query.options(joinedload(ServicePoint.village))
    rows = db.session.scalars(query).all()
    choices = [(row.id, _place_label(row)) for row in rows]
    return ([(0, _("— none —"))] if optional else []) + choices


def _place_label(row):
    locale = str(get_locale())
    if isinstance(row, Village):
        return f"{row.town.name(locale)} · {row.name(locale)}"
    if isinstance(row, ServicePoint):
        return f"{row.village.name(locale)} · {row.name(locale)}"
    return row.name(locale)


@bp.get("/")
@role_required("town_staff")
def dashboard():
    counts = {}
    if current_user.role == "admin":
        counts = {
            _("Towns"): db.session.scalar(select(func.count(Town.id))),
            _("Villages"): db.session.scalar(select(func.count(Village.id))),
            _("Provincial poor villages"): db.session.scalar(select(func.count(Village.id)).where(Village.is_poor_village)),
            _("Households"): db.session.scalar(select(func.count(Household.id))),
            _("Verified poor households"): db.session.scalar(select(func.count(Household.id)).where(Household.is_verified_poor)),
            _("Cooperatives"): db.session.scalar(select(func.count(Cooperative.id))),
            _("Suppliers"): db.session.scalar(select(func.count(Supplier.id))),
            _("Accounts"): db.session.scalar(select(func.count(User.id))),
        }
    imports = select(ImportJob).order_by(ImportJob.id.desc()).limit(5)
    if current_user.role != "admin":
        imports = imports.where(ImportJob.scope_town_id == current_user.town_id)
    return render_template("admin/dashboard.html", counts=counts, imports=db.session.scalars(imports).all())


def _record_page(kind):
    page = RECORD_PAGES.get(kind)
    if page is None:
        abort(404)
    return page


@bp.get("/<any(towns, villages, 'service-points', cooperatives, suppliers):kind>")
@role_required("admin")
def records(kind):
    page = _record_page(kind)
    query = reference_data.search_records(page.kind, request.args.get("q", ""), request.args.get("poor") == "1")
    return render_template("admin/records.html", page=page, kind=kind, pagination=paginate(query))


@bp.route("/<any(towns, villages, 'service-points', cooperatives, suppliers):kind>/new", methods=["GET", "POST"])
@bp.route("/<any(towns, villages, 'service-points', cooperatives, suppliers):kind>/<int:record_id>",
          methods=["GET", "POST"])
@role_required("admin")
def edit_record(kind, record_id=None):
    page = _record_page(kind)
    model = reference_data.KINDS[page.kind][0]
    item = db.session.get(model, record_id) if record_id else None
    if record_id and item is None:
        abort(404)
    form = page.form(obj=item)
    _fill_choices(form)
    if form.validate_on_submit():
        values = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
        for name in ("village_id", "town_id"):
            if name in values and values[name] == 0:
                values[name] = None
        try:
            reference_data.save_record(page.kind, record_id, values, current_user.id)
        except DomainError as error:
            flash(error.message, "error")
            return render_template("admin/record_form.html", page=page, kind=kind, form=form, item=item), error.status
        flash(_("Saved."), "info")
        return redirect(url_for("admin.records", kind=kind))
    return render_template("admin/record_form.html", page=page, kind=kind, form=form, item=item)


def _fill_choices(form):
    if "town_id" in form:
        form.town_id.choices = place_choices(Town, optional=isinstance(form, SupplierForm))
    if "village_id" in form:
        form.village_id.choices = place_choices(Village, optional=isinstance(form, CooperativeForm))


@bp.get("/audit")
@role_required("admin")
def audit():
    args = request.args
    query = search_audit(action=args.get("action", ""), actor_email=args.get("actor", ""),
                         object_type=args.get("object", ""), town_id=args.get("town", 0, type=whole_number),
                         since=_date(args.get("since")), until=_date(args.get("until")))
    pagination = paginate(query)
    actor_ids = {row.actor_id for row in pagination.items if row.actor_id}
    actors = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
    towns = db.session.scalars(select(Town).order_by(Town.id)).all()
    return render_template("admin/audit.html", pagination=pagination, towns=towns, actors=actors)


def _date(text):
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
