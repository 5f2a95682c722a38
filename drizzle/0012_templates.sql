CREATE TYPE "public"."sms_encoding" AS ENUM('GSM7', 'UCS2');--> statement-breakpoint
CREATE TABLE "template_versions" (
	"template_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"name" text NOT NULL,
	"default_locale" text NOT NULL,
	"variants" json NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "template_versions_template_id_version_pk" PRIMARY KEY("template_id","version")
);
--> statement-breakpoint
CREATE TABLE "templates" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"channel" "channel" NOT NULL,
	"built_in" text,
	"version" integer NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "price_multiplier" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "template_id" uuid;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "template_version" integer;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "locale" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "reference" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "encoding" "sms_encoding";--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "segments" integer;--> statement-breakpoint
ALTER TABLE "template_versions" ADD CONSTRAINT "template_versions_template_id_templates_id_fk" FOREIGN KEY ("template_id") REFERENCES "public"."templates"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "templates" ADD CONSTRAINT "templates_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "templates_tenant_id" ON "templates" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "templates_tenant_built_in" ON "templates" USING btree ("tenant_id","built_in","channel") WHERE "templates"."built_in" is not null;--> statement-breakpoint
-- Every process caches templates it sends with (the current version of each, the built-ins
-- of each tenant) and drops a template's entries when it hears this: any write, from any
-- process or by hand, is announced as "<tenant uuid>:<template uuid>".
CREATE OR REPLACE FUNCTION herald_notify_template_changed() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('herald_template_changed', NEW.tenant_id::text || ':' || NEW.id::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER templates_notify_changed AFTER INSERT OR UPDATE ON templates
  FOR EACH ROW EXECUTE FUNCTION herald_notify_template_changed();
