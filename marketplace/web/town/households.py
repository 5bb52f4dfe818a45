"""Household balances, statements and the village statement file."""
from flask import Response, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from flask_babel import gettext as _

from marketplace.local_time import local_today
from marketplace.spreadsheets import xlsx_bytes
from marketplace.statements import services as statements
from marketplace.statements.household_table import household_table
from marketplace.statements import village as village_files
from marketplace.web.security.fields import whole_number
from marketplace.web.town import bp
from marketplace.web.town.forms import PeriodForm, VillageStatementsForm
from marketplace.web.town.routes import attempt, my_town_id, staff_only, town_villages


def requested_period():
    form = PeriodForm(request.args)
    form.validate()
    default_start, default_end = statements.default_period()
    form.start.data = form.start.data or default_start
    form.end.data = form.end.data or default_end
    return form, form.start.data, form.end.data


def _household_table():
    town_id = my_town_id()
    village_id = request.args.get("village", type=whole_number)
    query = request.args.get("q", "")[:40]
    table = household_table(town_id, query, village_id, request.args.get("sort", "name"),
                            request.args.get("dir") == "desc")
    return table, village_id, query


@bp.get("/households")
@staff_only
def households():
    table, village_id, query = _household_table()
    return render_template("town/households.html", table=table, villages=town_villages(my_town_id()),
                           village_id=village_id, query=query)


@bp.get("/households.xlsx")
@staff_only
def households_xlsx():
    """The table as shown (same filter and order), with its totals, for the town's own files."""
    table, _village_id, _query = _household_table()
    headers = [_("Household head"), _("Village"), _("Available (yuan)"), _("Pending (yuan)"), _("Paid to date (yuan)")]
    rows = [(row.household.head_name, row.household.village.name_zh, row.available_fen / 100, row.pending_fen / 100,
             row.paid_to_date_fen / 100) for row in table.rows]
    rows.append((_("Total"), "", table.available_fen / 100, table.pending_fen / 100, table.paid_to_date_fen / 100))
    body = xlsx_bytes(_("Households"), headers, rows)
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=households-{local_today():%Y%m%d}.xlsx"})


def _statement(household_id):
    form, start, end = requested_period()
    return form, statements.statement_for(my_town_id(), household_id, start, end)


@bp.get("/households/<int:household_id>")
@staff_only
def household(household_id):
    form, data = _statement(household_id)
    return render_template("town/household.html", form=form, **data)


@bp.get("/households/<int:household_id>/statement.pdf")
@staff_only
def household_statement_pdf(household_id):
    _form, data = _statement(household_id)
    pdf = statements.render_chinese_pdf("documents/household_statement.html", statements=[data])
    name = f"statement-{household_id}-{data['start']:%Y%m%d}-{data['end']:%Y%m%d}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@bp.route("/statements", methods=["GET", "POST"])
@staff_only
def village_statements():
    town_id = my_town_id()
    form = VillageStatementsForm()
    form.village_id.choices = [(v.id, v.name(current_user.locale or "zh")) for v in town_villages(town_id)]
    if request.method == "GET":
        form.start.data, form.end.data = statements.default_period()
    if form.validate_on_submit():
        job = attempt(village_files.request_village_statements, current_user.id, form.village_id.data,
                      form.start.data, form.end.data)
        if job is not None:
            return redirect(url_for("town.statement_job", job_id=job.id))
    return render_template("town/village_statements.html", form=form), 422 if form.errors else 200


def _job(job_id):
    return village_files.job_in_town(job_id, my_town_id())


@bp.get("/statements/jobs/<int:job_id>")
@staff_only
def statement_job(job_id):
    return render_template("town/statement_job.html", job=_job(job_id))


@bp.get("/statements/jobs/<int:job_id>/status")
@staff_only
def statement_job_status(job_id):
    job = _job(job_id)
    return jsonify(status=job.status, done=job.done_count, total=job.total_count,
                   download_url=url_for("town.statement_job_download", job_id=job.id) if job.status == "done" else None)


@bp.get("/statements/jobs/<int:job_id>/download")
@staff_only
def statement_job_download(job_id):
    job = _job(job_id)
    if job.status != "done":
        abort(409)
    name = f"village-{job.village_id}-statements-{job.period_start:%Y%m%d}-{job.period_end:%Y%m%d}.pdf"
    return Response(job.pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
