-- Secondary indexes, created once after the data (as a real schema would have).
CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id);
CREATE INDEX IF NOT EXISTS orders_created_idx ON orders (created_at);
CREATE INDEX IF NOT EXISTS events_order_idx ON events (order_id);
CREATE INDEX IF NOT EXISTS customers_email_idx ON customers (email);
ANALYZE;
