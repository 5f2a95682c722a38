CREATE TYPE "public"."message_category" AS ENUM('TRANSACTIONAL', 'MARKETING');--> statement-breakpoint
ALTER TABLE "recipients" ADD COLUMN "time_zone" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "default_time_zone" text DEFAULT 'UTC' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "help_reply" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "stop_suppresses" "message_category"[] DEFAULT '{"TRANSACTIONAL","MARKETING"}' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "unsubscribe_suppresses" "message_category"[] DEFAULT '{"MARKETING"}' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "quiet_hours" json DEFAULT '[]'::json NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "category" "message_category" DEFAULT 'TRANSACTIONAL' NOT NULL;--> statement-breakpoint
ALTER TABLE "templates" ADD COLUMN "category" "message_category" DEFAULT 'TRANSACTIONAL' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_stop_suppresses_marketing" CHECK ('MARKETING' = any("tenants"."stop_suppresses"));--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_unsubscribe_suppresses_marketing" CHECK ('MARKETING' = any("tenants"."unsubscribe_suppresses"));--> statement-breakpoint
-- Processes cache what sends read of a tenant (its quiet hours and default zone): a change is
-- announced with the tenant's uuid, and every process drops that tenant's entry.
CREATE OR REPLACE FUNCTION herald_notify_tenant_send_rules_changed() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('herald_tenant_send_rules_changed', NEW.id::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER tenants_notify_send_rules_changed AFTER UPDATE OF default_time_zone, quiet_hours ON tenants
  FOR EACH ROW WHEN (OLD.default_time_zone IS DISTINCT FROM NEW.default_time_zone OR OLD.quiet_hours::text IS DISTINCT FROM NEW.quiet_hours::text)
  EXECUTE FUNCTION herald_notify_tenant_send_rules_changed();
