-- Realistic rows for the benchmark: random/md5 text, numbers, timestamps, JSON, several tables and indexes.
SET client_min_messages = warning;
-- Run repeatedly with :batch rows per call; each call appends to every table.
CREATE TABLE IF NOT EXISTS customers (
  id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, country char(2), created_at timestamptz, note text);
CREATE TABLE IF NOT EXISTS orders (
  id bigint PRIMARY KEY, customer_id bigint NOT NULL, total numeric(12,2), status text, created_at timestamptz, lines jsonb);
CREATE TABLE IF NOT EXISTS events (
  id bigint PRIMARY KEY, order_id bigint, kind text, at timestamptz, payload text);

INSERT INTO customers
SELECT n, md5(random()::text) || '@' || substr(md5(random()::text), 1, 8) || '.example',
       initcap(substr(md5(random()::text), 1, 6)) || ' ' || initcap(substr(md5(random()::text), 1, 9)),
       (ARRAY['DE','FR','US','GB','NL','PL','ES','IT'])[1 + floor(random() * 8)::int],
       now() - random() * interval '900 days', md5(random()::text) || md5(random()::text)
FROM generate_series(:start + 1, :start + :batch / 4) n;

INSERT INTO orders
SELECT n, 1 + floor(random() * (:start + :batch / 4))::bigint, round((random() * 500)::numeric, 2),
       (ARRAY['new','paid','shipped','cancelled'])[1 + floor(random() * 4)::int], now() - random() * interval '900 days',
       jsonb_build_array(jsonb_build_object('sku', substr(md5(random()::text), 1, 10), 'qty', 1 + floor(random() * 5)::int,
                                            'price', round((random() * 100)::numeric, 2)),
                         jsonb_build_object('sku', substr(md5(random()::text), 1, 10), 'qty', 1 + floor(random() * 3)::int))
FROM generate_series(:start + 1, :start + :batch) n;

INSERT INTO events
SELECT n, 1 + floor(random() * (:start + :batch))::bigint,
       (ARRAY['created','paid','packed','shipped','delivered','refund'])[1 + floor(random() * 6)::int],
       now() - random() * interval '900 days',
       md5(random()::text) || ' ' || md5(random()::text) || ' ' || md5(random()::text)
FROM generate_series(:start + 1, :start + :batch) n;
