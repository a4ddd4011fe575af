"""`closeloop dedupe` on real files: a generated .xlsx with Chinese headers and a GBK .csv with English ones."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

ROWS = [
    ("杭州普腾康汇食品有限公司", "王伟", "13912345678", "wang@ptkh.cn", "杭州"),
    ("普腾康汇食品（杭州）股份有限公司", "王总", "+86 139-1234-5678", "", ""),
    ("普騰康匯食品有限公司", "李强", "13812345678", "LI@PTKH.CN", "杭州"),
    ("杭州普腾康汇贸易有限公司", "赵六", "13712345678", "zhao@qq.com", "杭州"),
    ("达云食品（北京）有限公司", "陈明", "15000000001", "chen@163.com", "北京"),
]


def read_output(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def check(rows):
    assert [r["lead_cluster"] == rows[0]["lead_cluster"] for r in rows] == [True, True, False, False, False]
    assert [r["company_cluster"] == rows[0]["company_cluster"] for r in rows] == [True, True, True, False, False]


def test_it_clusters_an_xlsx_with_chinese_headers(tmp_path, capsys):
    book = Workbook()
    sheet = book.active
    sheet.append(["公司名称", "联系人", "手机", "邮箱", "城市", "备注"])
    for company, contact, mobile, email, city in ROWS:
        # A mobile typed as a number, as Excel keeps it.
        sheet.append([company, contact, int(mobile) if mobile.isdigit() else mobile, email, city, "x"])
    book.save(tmp_path / "leads.xlsx")
    call_command("dedupe", str(tmp_path / "leads.xlsx"), "-o", str(tmp_path / "out.csv"))
    rows = read_output(tmp_path / "out.csv")
    assert list(rows[0]) == ["公司名称", "联系人", "手机", "邮箱", "城市", "备注", "lead_cluster", "company_cluster"]
    assert rows[0]["手机"] == "13912345678" and rows[0]["备注"] == "x"
    check(rows)
    summary = capsys.readouterr().err
    assert "5 rows" in summary and "rows/s" in summary


def test_it_reads_a_gbk_csv_with_english_headers(tmp_path):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["Company", "Contact", "Mobile", "Email", "City"])
    writer.writerows(ROWS)
    (tmp_path / "leads.csv").write_bytes(text.getvalue().encode("gbk", errors="replace"))
    call_command("dedupe", str(tmp_path / "leads.csv"), "--output", str(tmp_path / "out.csv"))
    rows = read_output(tmp_path / "out.csv")
    assert rows[0]["Company"] == "杭州普腾康汇食品有限公司"
    check(rows)


def test_it_explains_a_file_without_known_columns(tmp_path):
    (tmp_path / "x.csv").write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="公司名称"):
        call_command("dedupe", str(tmp_path / "x.csv"), "-o", str(tmp_path / "out.csv"))


def test_it_writes_to_standard_output_without_o(tmp_path, capsys):
    (tmp_path / "x.csv").write_text("公司名称,手机\n甲乙科技有限公司,13912345678\n甲乙科技公司,139 1234 5678\n", encoding="utf-8")
    call_command("dedupe", str(tmp_path / "x.csv"))
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("lead_cluster,company_cluster") and out[1].endswith(",1,1") and out[2].endswith(",1,1")
