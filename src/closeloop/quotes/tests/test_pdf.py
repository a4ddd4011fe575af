"""The quote PDF: Chinese text comes through in a CJK font, no glyph is missing, totals in capital numerals."""

import io

import pytest
from django.urls import reverse
from fontTools.cffLib import CFFFontSet
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import ContentStream, NumberObject

from closeloop.quotes import catalog, services
from closeloop.quotes.pdf import quote_pdf

pytestmark = pytest.mark.django_db



def png() -> bytes:
    """A small real PNG, as the company logo."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "#1f4e9c").save(buffer, "PNG")
    return buffer.getvalue()


def _glyphs(font) -> set[int] | range:
    """The glyph ids a PDF font's embedded program really has (without .notdef)."""
    descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    if "/FontFile2" in descriptor:
        data = descriptor["/FontFile2"].get_object().get_data()
        return range(1, TTFont(io.BytesIO(data))["maxp"].numGlyphs)
    font_file = descriptor["/FontFile3"].get_object()
    data = font_file.get_data()
    if font_file.get("/Subtype") == "/OpenType":
        order = TTFont(io.BytesIO(data)).getGlyphOrder()
    else:
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(data), None)
        order = list(cff[cff.fontNames[0]].charset)
    # A CID-keyed font names its glyphs by CID (cid01234); the content stream shows CIDs.
    cids = {int(name[3:]) for name in order if name.startswith("cid")}
    return (cids - {0}) if cids else range(1, len(order))


def missing_glyphs(pdf: bytes) -> int:
    """How many characters were drawn with a glyph their font does not have (.notdef or beyond it: a box).
    Pango falls back through the installed fonts, so this counts what no font could draw."""
    reader = PdfReader(io.BytesIO(pdf))
    missing = 0
    for page in reader.pages:
        glyphs = {name: _glyphs(font.get_object()) for name, font in page["/Resources"]["/Font"].items()}
        current = None
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                current = operands[0]
                continue
            if operator == b"Tj":
                items = [operands[0]]
            elif operator == b"TJ":
                items = [i for i in operands[0] if not isinstance(i, int | float | NumberObject)]
            else:
                continue
            for item in items:
                raw = getattr(item, "original_bytes", None) or bytes(item)
                missing += sum(1 for i in range(0, len(raw), 2)
                               if int.from_bytes(raw[i:i + 2], "big") not in glyphs[current])
    return missing


def test_the_glyph_check_sees_a_missing_glyph():
    from closeloop.quotes.pdf import render_pdf

    assert missing_glyphs(render_pdf("<p>报价单</p>")) == 0
    assert missing_glyphs(render_pdf("<p>报价单 \U0010fffd</p>")) == 1
    assert missing_glyphs(render_pdf('<p style="font-family: Noto Sans CJK SC">A\u0378</p>')) == 1


def fonts_of(reader: PdfReader) -> set[str]:
    names = set()
    for pdf_page in reader.pages:
        fonts = pdf_page["/Resources"].get("/Font", {})
        for font in fonts.values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def test_the_pdf_speaks_chinese_with_every_glyph(org, deal, make_product):
    from django.core.files.uploadedfile import SimpleUploadedFile

    catalog.quote_settings_save(actor=org.admin, data={
        "company_name": "华东云科技有限公司", "company_address": "上海市浦东新区张江路88号", "company_bank": "招商银行上海分行 1219 0000 0000",
        "payment_terms": "合同签订后预付50%，验收合格后支付50%"}, logo=SimpleUploadedFile("logo.png", png()))
    quote = services.quote_create(opportunity=deal, actor=org.owner, title="销售管理系统（含实施）")
    product = make_product(name="客户关系管理系统·标准版", list_price="123400")
    services.quote_line_add(quote=quote, actor=org.owner, data={"product": product.pk, "quantity": "1"})
    services.quote_line_add(quote=quote, actor=org.owner, data={"name": "驻场实施服务", "unit": "人天",
                                                                 "quantity": "0.5", "unit_price": "1000"})
    quote.refresh_from_db()
    pdf = quote_pdf(quote.current_version)
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(pdf_page.extract_text() for pdf_page in reader.pages)
    for expected in ["报价单", "华东云科技有限公司", "客户关系管理系统·标准版", "驻场实施服务", "人天",
                     "壹拾贰万叁仟玖佰元整", "¥123,900.00", "合同签订后预付50%", "客户确认（签字盖章）", quote.number]:
        assert expected in text, expected
    assert "\ufffd" not in text and "□" not in text  # no replacement characters, no tofu boxes
    fonts = fonts_of(reader)
    assert any("Noto-Sans-CJK" in name or "WenQuanYi" in name for name in fonts), fonts
    assert missing_glyphs(pdf) == 0
    assert len(reader.pages[0].images) == 1  # the logo


def test_the_line_table_keeps_its_headings_and_units_whole(org, deal, make_product):
    # A long item name took the table's width and the headings broke a character a line: 编/号, 数/量, 不含税金/额.
    quote = services.quote_create(opportunity=deal, actor=org.owner)
    product = make_product(name="Closeloop CRM 标准版（年/用户）含移动端与企业微信集成及三年维保", list_price="1200")
    services.quote_line_add(quote=quote, actor=org.owner, data={"product": product.pk, "quantity": "30",
                                                                 "unit": "用户·年", "discount_pct": "30"})
    quote.refresh_from_db()
    text = PdfReader(io.BytesIO(quote_pdf(quote.current_version))).pages[0].extract_text()
    for whole in ["编号", "项目", "单位", "数量", "含税单价", "折扣", "税率", "不含税金额", "含税金额", "用户·年"]:
        assert whole in text, whole


def test_a_sent_version_prints_as_it_was_sent(client, org, make_quote):
    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    services.quote_revise(quote=quote, actor=org.owner)
    quote.refresh_from_db()
    line = quote.current_version.lines.get()
    services.quote_line_update(line=line, actor=org.owner, data={"quantity": "2"})
    client.force_login(org.owner)
    first = client.get(reverse("quotes:pdf", args=[quote.pk]) + "?v=1")
    second = client.get(reverse("quotes:pdf", args=[quote.pk]))
    assert first["Content-Type"] == "application/pdf"
    first_text = PdfReader(io.BytesIO(first.content)).pages[0].extract_text()
    second_text = PdfReader(io.BytesIO(second.content)).pages[0].extract_text()
    assert "¥10,000.00" in first_text and "草稿" not in first_text
    assert "¥20,000.00" in second_text and "草稿" in second_text  # the new version is a draft
    client.force_login(org.outsider)
    assert client.get(reverse("quotes:pdf", args=[quote.pk])).status_code == 404


def test_a_sent_version_is_rendered_once_and_kept(client, org, make_quote, settings):
    from closeloop.quotes.pdf import kept_pdf_name

    quote = make_quote()
    draft = quote_pdf(quote.current_version)
    assert not (settings.MEDIA_ROOT / "quotes").exists()  # a draft changes: never kept
    services.quote_send(quote=quote, actor=org.owner)
    quote.refresh_from_db()
    version = quote.current_version
    client.force_login(org.owner)
    first = client.get(reverse("quotes:pdf", args=[quote.pk])).content
    kept = settings.MEDIA_ROOT / kept_pdf_name(version)
    assert kept.read_bytes() == first and first != draft
    # What is kept is what is served, to the rep and to the customer's link alike.
    kept.write_bytes(first + b"%kept")
    assert client.get(reverse("quotes:pdf", args=[quote.pk])).content == first + b"%kept"
    assert client.get(reverse("quote_public_pdf", args=[quote.public_key])).content == first + b"%kept"


def test_a_kept_pdf_is_rendered_again_when_the_printed_settings_change(client, org, make_quote, settings):
    """The kept PDF prints the company's bank details as they are now, not as they were at the first download."""
    catalog.quote_settings_save(actor=org.admin, data={"company_bank": "招商银行上海分行 1219 0000 0001"})
    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    client.force_login(org.owner)
    url = reverse("quotes:pdf", args=[quote.pk])
    assert "1219 0000 0001" in PdfReader(io.BytesIO(client.get(url).content)).pages[0].extract_text()
    catalog.quote_settings_save(actor=org.admin, data={"company_bank": "工商银行浦东支行 1001 2000 3000"})
    text = PdfReader(io.BytesIO(client.get(url).content)).pages[0].extract_text()
    assert "1001 2000 3000" in text and "1219 0000 0001" not in text
    # The same settings again: the file kept for them is served, nothing is rendered twice.
    kept = sorted((settings.MEDIA_ROOT / "quotes" / "pdf" / str(quote.pk)).iterdir())
    assert len(kept) == 2
    assert client.get(url).content in {path.read_bytes() for path in kept}
    assert len(list((settings.MEDIA_ROOT / "quotes" / "pdf" / str(quote.pk)).iterdir())) == 2


def test_two_first_renders_keep_one_file(org, make_quote, settings, monkeypatch):
    """A render that finds the file saved meanwhile by another request leaves no second copy behind."""
    from closeloop.quotes import pdf

    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    quote.refresh_from_db()
    version = quote.current_version
    kept = settings.MEDIA_ROOT / pdf.kept_pdf_name(version)
    kept.parent.mkdir(parents=True)
    real_render = pdf.render_pdf

    def render_while_another_request_saves(html):
        # The other request's file appears between this request's miss and its save: rendering takes seconds.
        data = real_render(html)
        kept.write_bytes(b"%PDF-1.7 the other request's")
        return data

    monkeypatch.setattr(pdf, "render_pdf", render_while_another_request_saves)
    # The first question whether the file exists is answered as it was asked just before the other save landed;
    # later ones (the storage's own, when it looks for a free name) see the disk.
    real_exists, asked = pdf.default_storage.exists, []

    def exists_answered_a_moment_ago(name):
        asked.append(name)
        return False if len(asked) == 1 else real_exists(name)

    monkeypatch.setattr(pdf.default_storage, "exists", exists_answered_a_moment_ago)
    assert quote_pdf(version).startswith(b"%PDF")
    assert [path.name for path in kept.parent.iterdir()] == [kept.name]
    assert kept.read_bytes() == b"%PDF-1.7 the other request's"


def test_the_customer_downloads_the_pdf_from_the_link(client, org, make_quote):
    quote = make_quote()
    services.quote_send(quote=quote, actor=org.owner)
    response = client.get(reverse("quote_public_pdf", args=[quote.public_key]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
