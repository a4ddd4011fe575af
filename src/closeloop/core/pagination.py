"""One way to page through a list: the page number from the request, then one page of rows.

Lists over a million visible rows page without COUNT(*) (counting them costs more than the page
itself): one row past the page says whether there is a next one. Short lists (users, notifications)
may ask for the count, to say "page 2 of 3".
"""

import math


def page_number(request, name: str = "page") -> int:
    """The requested page, 1 for anything that is not a positive number."""
    try:
        return max(1, int(request.GET.get(name, "1")))
    except ValueError:
        return 1


def page_of(rows, *, page: int, per_page: int = 25, count: bool = False) -> dict:
    """One page of a queryset (or list): `rows`, `number`, `has_previous`, `has_next`, `previous`, `next`,
    and `pages` (the number of pages) when `count` is asked for."""
    page = max(1, page)
    pages = None
    if count:
        total = len(rows) if isinstance(rows, list) else rows.count()
        pages = max(1, math.ceil(total / per_page))
        page = min(page, pages)
    window = list(rows[(page - 1) * per_page: page * per_page + 1])
    return {
        "rows": window[:per_page],
        "number": page,
        "has_previous": page > 1,
        "has_next": len(window) > per_page,
        "previous": page - 1,
        "next": page + 1,
        "pages": pages,
    }


def paginate(request, rows, *, per_page: int = 25, count: bool = False) -> dict:
    """`page_of` for the page the request asks for."""
    return page_of(rows, page=page_number(request), per_page=per_page, count=count)


def query_without_page(request) -> str:
    """The request's query string without its page number, for the pager's links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def api_page(rows, *, page: int, page_size: int, item=None) -> dict:
    """One page for the JSON API: `items` (each passed through `item` when given), `page`, `page_size`,
    `has_next`."""
    result = page_of(rows, page=page, per_page=page_size)
    items = result["rows"] if item is None else [item(row) for row in result["rows"]]
    return {"items": items, "page": result["number"], "page_size": page_size, "has_next": result["has_next"]}


def kept_parameters(request, names) -> list[tuple[str, str]]:
    """The query's values for `names` that a list's form keeps as hidden fields (the dashboard's drill-downs
    narrow a list by what its form does not show)."""
    return [(name, request.GET[name]) for name in names if request.GET.get(name)]
