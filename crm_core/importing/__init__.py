"""CSV import of customers: reading any spreadsheet's CSV, validating every row, finding duplicates,
writing all or nothing, and the report.

May import: :mod:`crm_core.customers`, :mod:`crm_core.parameters`, :mod:`crm_core.access` and below.
"""
