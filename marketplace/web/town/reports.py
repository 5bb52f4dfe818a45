"""The poverty-benefit report (带贫) on screen, as XLSX and as PDF."""
from flask import Response, render_template

from marketplace.reports.benefit import COLUMNS, benefit_pdf, benefit_report, benefit_xlsx
from marketplace.web.town import bp
from marketplace.web.town.households import requested_period
from marketplace.web.town.routes import my_town_id, staff_only


def _report():
    form, start, end = requested_period()
    return form, benefit_report(my_town_id(), start, end)


@bp.get("/reports/benefit")
@staff_only
def benefit():
    form, report = _report()
    return render_template("town/benefit.html", form=form, report=report, columns=COLUMNS)


@bp.get("/reports/benefit.xlsx")
@staff_only
def benefit_xlsx_download():
    _form, report = _report()
    name = f"benefit-{report['start']:%Y%m%d}-{report['end']:%Y%m%d}.xlsx"
    return Response(benefit_xlsx(report), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/reports/benefit.pdf")
@staff_only
def benefit_pdf_download():
    _form, report = _report()
    name = f"benefit-{report['start']:%Y%m%d}-{report['end']:%Y%m%d}.pdf"
    return Response(benefit_pdf(report), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
