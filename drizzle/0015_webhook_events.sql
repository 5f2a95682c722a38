CREATE TYPE "public"."webhook_delivery_outcome" AS ENUM('SUCCEEDED', 'FAILED');--> statement-breakpoint
CREATE TABLE "outbound_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"message_id" uuid,
	"type" "webhook_event_type" NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"snapshot" jsonb,
	"payload" text
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	"message_id" uuid,
	"job_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"outcome" "webhook_delivery_outcome" NOT NULL,
	"status_code" integer,
	"error" text,
	"duration_ms" integer,
	"response_excerpt" text,
	"at" timestamp with time zone NOT NULL,
	"next_attempt_at" timestamp with time zone,
	CONSTRAINT "webhook_deliveries_job_id" UNIQUE("job_id")
);
--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD COLUMN "failing_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_webhook_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."webhook_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_event_id_outbound_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."outbound_events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "outbound_events_unrendered" ON "outbound_events" USING btree ("id") WHERE "outbound_events"."payload" is null;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_tenant_id" ON "webhook_deliveries" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_tenant_endpoint_id" ON "webhook_deliveries" USING btree ("tenant_id","endpoint_id","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_tenant_event_id" ON "webhook_deliveries" USING btree ("tenant_id","event_id","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_tenant_message_id" ON "webhook_deliveries" USING btree ("tenant_id","message_id","id") WHERE "webhook_deliveries"."message_id" is not null;--> statement-breakpoint
-- A UUIDv7 of a given time (PostgreSQL 15 has no uuidv7()): the random bits of
-- gen_random_uuid() under the time's 48-bit millisecond count, version bits set to 7.
CREATE OR REPLACE FUNCTION herald_uuidv7(at timestamptz) RETURNS uuid AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send(floor(extract(epoch FROM at) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$ LANGUAGE sql VOLATILE;
--> statement-breakpoint
-- What an event says of its message: the fields the API shows, with the destination still
-- whole (the relay masks it when it renders the payload, then drops this) and never the
-- body. "at" is the status's time to the microsecond (herald_status_time, 0011).
CREATE OR REPLACE FUNCTION herald_message_snapshot(m messages) RETURNS jsonb AS $$
  SELECT jsonb_build_object(
    'id', m.id, 'recipientId', m.recipient_id, 'gatewayId', m.gateway_id, 'channel', m.channel,
    'status', m.status, 'destination', m.destination, 'reference', m.reference,
    'templateId', m.template_id, 'templateVersion', m.template_version, 'locale', m.locale,
    'orderId', m.order_id, 'invoiceNumber', m.invoice_number, 'attempts', m.attempts,
    'providerMessageId', m.provider_message_id, 'errorCode', m.error_code, 'errorMessage', m.error_message,
    'scheduledAt', herald_status_time(m.scheduled_at), 'sentAt', herald_status_time(m.sent_at),
    'deliveredAt', herald_status_time(m.delivered_at), 'createdAt', herald_status_time(m.created_at),
    'at', herald_status_time(m.updated_at))
$$ LANGUAGE sql STABLE;
--> statement-breakpoint
-- A status change to a status an enabled endpoint of the tenant subscribes to is an event,
-- written with the change. SENDING is not told, nor SENDING → QUEUED (a retry Herald makes
-- by itself: its failed attempt is a DeliveryLog); a message queued again by retryMessage is.
CREATE OR REPLACE FUNCTION herald_record_message_event() RETURNS trigger AS $$
DECLARE
  event_type webhook_event_type := ('MESSAGE_' || NEW.status::text)::webhook_event_type;
BEGIN
  IF EXISTS (SELECT 1 FROM webhook_endpoints e
              WHERE e.tenant_id = NEW.tenant_id AND e.enabled AND event_type = ANY (e.event_types)) THEN
    INSERT INTO outbound_events (id, tenant_id, message_id, type, occurred_at, snapshot)
    VALUES (herald_uuidv7(NEW.updated_at), NEW.tenant_id, NEW.id, event_type, NEW.updated_at, herald_message_snapshot(NEW));
    PERFORM pg_notify('herald_webhook_events', '');
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
DROP TRIGGER IF EXISTS messages_webhook_event ON messages;
--> statement-breakpoint
CREATE TRIGGER messages_webhook_event AFTER UPDATE OF status ON messages
  FOR EACH ROW
  WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status <> 'SENDING'
        AND NOT (OLD.status = 'SENDING' AND NEW.status = 'QUEUED'))
  EXECUTE FUNCTION herald_record_message_event();
--> statement-breakpoint
-- New messages (SCHEDULED or QUEUED), once per statement: a billing cycle's 10,000 rows
-- are one INSERT … SELECT.
CREATE OR REPLACE FUNCTION herald_record_inserted_message_events() RETURNS trigger AS $$
BEGIN
  INSERT INTO outbound_events (id, tenant_id, message_id, type, occurred_at, snapshot)
  SELECT herald_uuidv7(m.updated_at), m.tenant_id, m.id, t.event_type, m.updated_at, herald_message_snapshot(m::messages)
    FROM inserted m
    CROSS JOIN LATERAL (SELECT ('MESSAGE_' || m.status::text)::webhook_event_type AS event_type) t
   WHERE EXISTS (SELECT 1 FROM webhook_endpoints e
                  WHERE e.tenant_id = m.tenant_id AND e.enabled AND t.event_type = ANY (e.event_types));
  IF FOUND THEN
    PERFORM pg_notify('herald_webhook_events', '');
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
DROP TRIGGER IF EXISTS messages_insert_webhook_event ON messages;
--> statement-breakpoint
CREATE TRIGGER messages_insert_webhook_event AFTER INSERT ON messages
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION herald_record_inserted_message_events();
