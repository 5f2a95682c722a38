CREATE TYPE "public"."suppression_source" AS ENUM('API', 'INBOUND_STOP', 'PROVIDER_OPT_OUT', 'UNSUBSCRIBE_LINK', 'BOUNCE', 'SPAM_REPORT');--> statement-breakpoint
ALTER TYPE "public"."webhook_event_type" ADD VALUE 'SUPPRESSION_ADDED';--> statement-breakpoint
ALTER TYPE "public"."webhook_event_type" ADD VALUE 'SUPPRESSION_REMOVED';--> statement-breakpoint
CREATE TABLE "suppressions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"channel" "channel" NOT NULL,
	"destination" text,
	"destination_hash" text NOT NULL,
	"recipient_id" uuid,
	"source" "suppression_source" NOT NULL,
	"categories" "message_category"[] NOT NULL,
	"reason" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "suppressions" ADD CONSTRAINT "suppressions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "suppressions" ADD CONSTRAINT "suppressions_recipient_id_recipients_id_fk" FOREIGN KEY ("recipient_id") REFERENCES "public"."recipients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "suppressions_tenant_channel_hash" ON "suppressions" USING btree ("tenant_id","channel","destination_hash");--> statement-breakpoint
CREATE INDEX "suppressions_tenant_id" ON "suppressions" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "suppressions_tenant_channel_id" ON "suppressions" USING btree ("tenant_id","channel","id");--> statement-breakpoint
CREATE INDEX "suppressions_tenant_recipient_id" ON "suppressions" USING btree ("tenant_id","recipient_id","id") WHERE "suppressions"."recipient_id" is not null;