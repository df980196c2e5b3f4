-- 3PL (ShipBob) billing transactions: positive charges, latest landed version.
{{ latest_rows('threepl', 'threepl_billing') }}
