"""Great Expectations Data Docs that render without internet.

GX 1.x writes Data Docs pages that load Bootstrap 4, jQuery, bootstrap-table, Font Awesome,
Vega and a logo from public CDNs; only its own stylesheet, fonts and images ship in the
package (``great_expectations/render/view/static``) and are copied next to the pages. A
validator opening the docs logged with a run on a machine without internet gets unstyled
pages and an empty index (its table of validation runs is filled by bootstrap-table from a
script). :func:`make_offline` rewrites every page of a built site in place:

* every external ``<script src>``, ``<link href>`` and ``<img src>`` is removed (the logo
  points to the copy in ``static/images``), so nothing is fetched;
* a small stylesheet for the Bootstrap classes the pages use is written to
  ``static/styles/offline.css`` and linked from every page;
* tables that a script would fill (``$(...).bootstrapTable({columns, data})``) are written
  out as plain HTML rows, and the inline scripts (all of them need jQuery) are dropped.
  Collapsed "show more" blocks stay open, since their toggles were scripts.

The rewrite is idempotent: a page already rewritten is left as it is.
"""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

MARKER = "<!-- credit-pipeline: offline data docs -->"

OFFLINE_CSS = """/* credit-pipeline: the Bootstrap 4 subset the GX Data Docs pages use, so they render offline. */
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 14px; color: #212529; background: #fff; line-height: 1.5; }
a { color: #0d5f8a; text-decoration: none; } a:hover { text-decoration: underline; }
.container, .container-fluid { width: 100%; padding: 0 15px; margin: 0 auto; }
.row { display: flex; flex-wrap: wrap; margin: 0 -15px; }
[class*="col-"], .col { position: relative; width: 100%; padding: 0 15px; }
@media (min-width: 768px) {
  .col-md-2 { flex: 0 0 16.67%; max-width: 16.67%; } .col-md-3 { flex: 0 0 25%; max-width: 25%; }
  .col-md-4 { flex: 0 0 33.33%; max-width: 33.33%; } .col-md-6 { flex: 0 0 50%; max-width: 50%; }
  .col-md-8 { flex: 0 0 66.67%; max-width: 66.67%; } .col-md-9 { flex: 0 0 75%; max-width: 75%; }
  .col-md-10 { flex: 0 0 83.33%; max-width: 83.33%; } .col-md-12 { flex: 0 0 100%; max-width: 100%; }
}
.navbar { display: flex; align-items: center; flex-wrap: wrap; padding: 8px 16px; border-bottom: 1px solid #dee2e6; background: #f8f9fa; }
.navbar-brand img { height: 32px; } .sticky-top { position: sticky; top: 0; z-index: 10; }
.nav { display: flex; flex-wrap: wrap; padding: 0; margin: 0; list-style: none; }
.nav-tabs { border-bottom: 1px solid #dee2e6; } .nav-link { display: block; padding: 6px 12px; }
.nav-tabs .nav-link.active { border: 1px solid #dee2e6; border-bottom-color: #fff; border-radius: 4px 4px 0 0; background: #fff; }
.tab-pane { display: block; }
.card { border: 1px solid rgba(0,0,0,.125); border-radius: 4px; margin-bottom: 16px; background: #fff; }
.card-header { padding: 8px 16px; background: rgba(0,0,0,.03); border-bottom: 1px solid rgba(0,0,0,.125); }
.card-body { padding: 12px 16px; }
.table { width: 100%; margin-bottom: 16px; border-collapse: collapse; }
table { border-collapse: collapse; }
.table th, .table td, table.table-sm th, table.table-sm td { padding: 4px 8px; border-top: 1px solid #dee2e6; vertical-align: top; text-align: left; }
.table thead th, table thead th { border-bottom: 2px solid #dee2e6; background: #f1f3f5; }
.table-sm th, .table-sm td { padding: 3px 6px; } .table-bordered th, .table-bordered td { border: 1px solid #dee2e6; }
.list-group { padding: 0; margin: 0 0 12px; } .list-group-item { display: block; padding: 6px 12px; border: 1px solid rgba(0,0,0,.125); margin-bottom: -1px; }
.badge { display: inline-block; padding: 2px 6px; font-size: 75%; font-weight: 700; border-radius: 4px; background: #6c757d; color: #fff; }
.badge-success, .bg-success { background: #28a745; color: #fff; } .badge-danger, .bg-danger { background: #dc3545; color: #fff; }
.badge-info { background: #17a2b8; color: #fff; } .badge-secondary { background: #6c757d; color: #fff; }
.text-success { color: #28a745; } .text-danger { color: #dc3545; } .text-muted { color: #6c757d; } .text-info { color: #17a2b8; }
.alert { padding: 10px 16px; border-radius: 4px; margin-bottom: 12px; border: 1px solid transparent; }
.alert-secondary { background: #e2e3e5; border-color: #d6d8db; } .alert-danger { background: #f8d7da; } .alert-success { background: #d4edda; }
.btn { display: inline-block; padding: 4px 10px; border: 1px solid #6c757d; border-radius: 4px; background: #fff; color: #212529; cursor: default; }
.d-flex { display: flex; } .d-none { display: none; } .align-items-center { align-items: center; } .float-left { float: left; }
.mr-auto { margin-right: auto; } .m-0 { margin: 0; } .p-0 { padding: 0; } .mb-1 { margin-bottom: 4px; } .mb-4 { margin-bottom: 24px; }
.pt-4 { padding-top: 24px; } .pb-4 { padding-bottom: 24px; } .ml-1 { margin-left: 4px; } .border-bottom { border-bottom: 1px solid #dee2e6; }
.collapse { display: block; } .fade { opacity: 1; }
.cooltip .top, .tooltip { display: none; }
ul.ge-offline-toc { padding-left: 16px; }
i.fas.fa-check-circle::before { content: "✔"; color: #28a745; font-style: normal; }
i.fas.fa-times::before, i.fas.fa-times-circle::before { content: "✘"; color: #dc3545; font-style: normal; }
i.fas.fa-exclamation-triangle::before { content: "⚠"; color: #c69500; font-style: normal; }
"""

_EXTERNAL_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', re.IGNORECASE)
_EXTERNAL_LINK = re.compile(r'<link\b[^>]*\bhref="https?://[^"]*"[^>]*/?>', re.IGNORECASE)
_EXTERNAL_IMG = re.compile(r'(<img\b[^>]*\bsrc=")https?://[^"]*(")', re.IGNORECASE)
_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.IGNORECASE | re.DOTALL)
_TABLE_CALL = re.compile(r"\$\('#([\w-]+)'\)\.bootstrapTable\(")


def _literal_after(text: str, key: str) -> object | None:
    """The Python-literal list after ``key:`` in a GX table call (GX writes them with repr)."""
    m = re.search(rf"\b{key}:\s*\[", text)
    if not m:
        return None
    start, depth, i, quote = m.end() - 1, 0, m.end() - 1, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return ast.literal_eval(text[start:i + 1])
        i += 1
    return None


def _static_table(columns: list[dict], rows: list[dict]) -> str:
    """A script-filled table written out: one column per ``field``; a row with a link path links its first cell."""
    head = "".join(f"<th>{html.escape(str(c.get('title', c['field'])))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for j, c in enumerate(columns):
            value = str(row.get(c["field"], ""))  # GX-rendered HTML fragments (links, icons)
            if j == 0 and row.get("_table_row_link_path"):
                value = f'<a href="{html.escape(str(row["_table_row_link_path"]))}">{value.strip() or "open"}</a>'
            cells.append(f"<td>{value}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"


def _fill_tables(page: str) -> str:
    for script in _INLINE_SCRIPT.findall(page):
        for m in _TABLE_CALL.finditer(script):
            columns, rows = _literal_after(script[m.end():], "columns"), _literal_after(script[m.end():], "data")
            if not columns or rows is None:
                continue
            table = re.search(rf'(<table\b[^>]*\bid="{re.escape(m.group(1))}"[^>]*>)(.*?)(</table>)', page, re.DOTALL)
            if table:
                page = page[:table.start(2)] + _static_table(columns, rows) + page[table.end(2):]
    return page


def offline_page(page: str, root_prefix: str) -> str:
    """One Data Docs page rewritten to load nothing from the network (``root_prefix``: path to the site root)."""
    if MARKER in page:
        return page
    page = _fill_tables(page)
    page = _EXTERNAL_SCRIPT.sub("", page)
    page = _EXTERNAL_LINK.sub("", page)
    page = _EXTERNAL_IMG.sub(rf"\g<1>{root_prefix}static/images/logo-long.png\g<2>", page)
    page = _INLINE_SCRIPT.sub("", page)  # every inline script of the docs needs jQuery
    css = f'{MARKER}\n<link rel="stylesheet" href="{root_prefix}static/styles/offline.css">'
    return page.replace("</head>", css + "\n</head>", 1) if "</head>" in page else css + page


def make_offline(site_dir: str | Path) -> int:
    """Rewrite every page of the Data Docs site under ``site_dir``; returns the number of pages."""
    site = Path(site_dir)
    styles = site / "static" / "styles"
    styles.mkdir(parents=True, exist_ok=True)
    (styles / "offline.css").write_text(OFFLINE_CSS, encoding="utf-8")
    pages = sorted(site.rglob("*.html"))
    for path in pages:
        depth = len(path.relative_to(site).parts) - 1
        path.write_text(offline_page(path.read_text(encoding="utf-8"), "../" * depth), encoding="utf-8")
    return len(pages)
