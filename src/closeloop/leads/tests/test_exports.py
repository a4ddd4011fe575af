import io

from python_calamine import CalamineWorkbook

from closeloop.core import spreadsheets
from closeloop.core.tests.sheets import continued_rows
from closeloop.leads.exports import neutralize


def test_formula_starters_are_neutralized():
    for payload in ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1"]:
        assert neutralize(payload).startswith("'")
    assert neutralize("上海") == "上海"
    assert neutralize(None) == ""


def test_the_excel_export_holds_text_not_formulas(client, org, make_lead):
    make_lead(company_name="=cmd|' /C calc'!A0", need="+SUM(1,2)")
    client.force_login(org.owner)
    response = client.get("/leads/export/?format=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    header, row = sheet[0], sheet[1]
    assert row[header.index("公司名称")] == "'=cmd|' /C calc'!A0"
    assert row[header.index("需求")] == "'+SUM(1,2)"


def test_the_csv_export_follows_the_filters(client, org, make_lead):
    make_lead(city="苏州", company_name="苏州甲公司")
    make_lead(city="杭州", company_name="杭州乙公司", status="qualified")
    client.force_login(org.owner)
    content = b"".join(client.get("/leads/export/?format=csv&q=苏州甲").streaming_content).decode("utf-8-sig")
    assert "苏州甲公司" in content and "杭州乙公司" not in content


def test_rows_past_excels_sheet_limit_continue_on_a_next_sheet(client, org, make_lead, settings, monkeypatch):
    settings.LANGUAGE_CODE = "zh-hans"
    for n in range(5):
        make_lead(company_name=f"第{n}公司")
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_ROWS", 3)  # a header and two leads a sheet
    client.force_login(org.owner)
    names, rows = continued_rows(client.get("/leads/export/?format=xlsx").content)
    assert names == ["线索", "线索 (2)", "线索 (3)"]
    assert sorted(row[1] for row in rows) == [f"第{n}公司" for n in range(5)]


def test_a_sheet_name_keeps_its_number_within_excels_31_characters(monkeypatch):
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_ROWS", 2)
    book = spreadsheets.export_workbook(io.BytesIO())
    sheets = spreadsheets.ContinuedSheet(book, "客" * 40, ["A"])
    assert [sheets.next_row()[1] for _ in range(3)] == [1, 1, 1]
    assert [sheet.name for sheet in sheets.sheets] == ["客" * 31, "客" * 27 + " (2)", "客" * 27 + " (3)"]
    assert sheets.rows == 3
    book.close()
