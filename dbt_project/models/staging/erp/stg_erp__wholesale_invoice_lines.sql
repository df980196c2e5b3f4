-- Wholesale invoice and credit-note lines from the ERP template, latest landed version.
{{ latest_rows('erp', 'wholesale_invoices') }}
