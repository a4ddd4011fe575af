"""Custom fields (自定义字段): definitions, types, values, permissions and the settings pages.

Modules are imported by their full name: `types` (each type's stored form, display and conversion),
`registry` (the definitions a record type has, who sees and edits them, cleaning a record's values),
`services` (the audited writes), `indexes` (expression indexes an administrator switches on), `forms`
and `views` (the settings pages and the form fields of the records' pages).
"""
