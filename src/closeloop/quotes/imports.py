"""Products from Excel or CSV: the lead import's pipeline (leads.imports and its pages) with the catalog's fields.

Only what is the catalog's own lives here: which headers name which product field, and the import kind
that hands the rows to `catalog.product_import`. Upload, mapping, preview, progress and the refused-rows
report are the lead import's, unchanged.
"""

from decimal import Decimal, InvalidOperation

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from closeloop.core.hooks import ImportKind

from . import catalog
from .models import Product

PRODUCTS = "products"

# Header names people use in price lists (价目表) and ERP exports, compared as leads.imports.header_key folds them.
PRODUCT_ALIASES = {
    "code": ["编码", "产品编码", "产品代码", "物料编码", "物料号", "货号", "编号", "code", "product code", "item code",
             "sku"],
    "name": ["名称", "产品名称", "品名", "产品", "商品名称", "服务名称", "name", "product", "product name"],
    "category": ["类别", "分类", "产品类别", "产品分类", "类目", "category"],
    "unit": ["单位", "计量单位", "unit", "uom"],
    "description": ["描述", "说明", "产品描述", "规格", "规格说明", "规格型号", "description", "spec", "specification"],
    "list_price": ["单价", "价格", "标准价", "标准价格", "目录价", "销售价", "售价", "含税单价", "list price", "price",
                   "unit price"],
    "price_includes_tax": ["是否含税", "价格含税", "含税", "includes tax", "tax included"],
    "cost": ["成本", "成本价", "单位成本", "进价", "采购价", "cost", "unit cost"],
    "tax_rate": ["税率", "增值税率", "税率%", "tax rate", "vat", "vat rate"],
    "active": ["启用", "是否启用", "在售", "active", "enabled"],
}


def product_fields() -> dict:
    return {name: capfirst(Product._meta.get_field(name).verbose_name) for name in catalog.PRODUCT_FIELDS}


def row_values(data: dict) -> dict:
    """A spreadsheet's spellings of a product row: a tax rate kept as a percentage cell (0.13) reads 13 %."""
    rate = data.get("tax_rate")
    if isinstance(rate, str) and rate.strip():
        try:
            number = Decimal(rate.strip())
        except InvalidOperation:
            return data
        if 0 < number < 1:
            return {**data, "tax_rate": f"{(number * 100).normalize():f}"}
    return data


def _check(data: dict) -> dict:
    return catalog.product_check(data=row_values(data))


def _submit(*, rows, actor, on_chunk, job=None, progress=None, stop=None):
    # `progress` is for rows read in another process; these are read here, so the job's own state is current.
    return catalog.product_import(rows=((key, row_values(data)) for key, data in rows), actor=actor, on_chunk=on_chunk,
                                  stop=stop)


def product_import_kind() -> ImportKind:
    return ImportKind(
        PRODUCTS, _("products"), _("Import products from Excel or CSV"), fields=product_fields,
        aliases=PRODUCT_ALIASES, check=_check, submit=_submit, may_import=catalog.can_manage_catalog,
        upload_url="quotes:product_import", list_url="quotes:product_list", required=("code", "name", "list_price"),
        template_url="quotes:product_import_template",
        routed_label=_("rows updated the product with the same code"),
        hint=_("Columns are recognised by their headers (编码, 名称, 类别, 单位, 单价, 成本, 税率, code, name, price …). "
               "A row whose code is already in the catalog updates that product; empty cells keep its values."),
    )
