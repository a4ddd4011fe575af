import io

from python_calamine import CalamineWorkbook

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
