-- Status events carry the time of the status ("at", microseconds, UTC, fixed width so that
-- a later status compares greater as text), and a message's first status (SCHEDULED or
-- QUEUED, on insert) is announced too. updated_at is stamped by the database on every
-- update and only moves forward per message, whichever process or clock wrote the row: a
-- subscriber compares it with an event's "at" to drop an event older than what it has
-- already shown (see realtime/status-hub.ts).
CREATE OR REPLACE FUNCTION herald_status_time(at timestamptz) RETURNS text AS $$
  SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$ LANGUAGE sql IMMUTABLE;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION herald_stamp_message_update() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at + interval '1 microsecond');
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
DROP TRIGGER IF EXISTS messages_stamp_update ON messages;
--> statement-breakpoint
CREATE TRIGGER messages_stamp_update BEFORE UPDATE ON messages
  FOR EACH ROW EXECUTE FUNCTION herald_stamp_message_update();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION herald_notify_message_status() RETURNS trigger AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    PERFORM pg_notify('herald_message_status', json_build_object(
      'id', NEW.id, 'tenantId', NEW.tenant_id, 'recipientId', NEW.recipient_id, 'status', NEW.status,
      'at', herald_status_time(NEW.updated_at))::text);
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
-- One notification per 30 new messages, not one per row (a billing cycle inserts 10,000
-- messages in a statement): a JSON array of at most 30 × 220 bytes, under NOTIFY's
-- 8,000-byte payload limit.
CREATE OR REPLACE FUNCTION herald_notify_messages_inserted() RETURNS trigger AS $$
DECLARE
  payload text;
BEGIN
  FOR payload IN
    SELECT json_agg(json_build_object(
             'id', id, 'tenantId', tenant_id, 'recipientId', recipient_id, 'status', status,
             'at', herald_status_time(updated_at)))::text
      FROM (SELECT *, (row_number() OVER () - 1) / 30 AS chunk FROM inserted) numbered
     GROUP BY chunk
  LOOP
    PERFORM pg_notify('herald_message_status', payload);
  END LOOP;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
DROP TRIGGER IF EXISTS messages_insert_notify ON messages;
--> statement-breakpoint
CREATE TRIGGER messages_insert_notify AFTER INSERT ON messages
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION herald_notify_messages_inserted();
