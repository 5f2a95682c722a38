CREATE TABLE "message_daily_stats" (
	"tenant_id" uuid NOT NULL,
	"day" date NOT NULL,
	"channel" "channel" NOT NULL,
	"status" "message_status" NOT NULL,
	"count" bigint NOT NULL,
	"segments" bigint NOT NULL,
	CONSTRAINT "message_daily_stats_tenant_id_day_channel_status_pk" PRIMARY KEY("tenant_id","day","channel","status")
);
--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "retention_days" integer DEFAULT 30 NOT NULL;--> statement-breakpoint
ALTER TABLE "message_daily_stats" ADD CONSTRAINT "message_daily_stats_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_events_received_at" ON "webhook_events" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "outbound_events_message_id" ON "outbound_events" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_event_id" ON "webhook_deliveries" USING btree ("event_id");--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_retention_days" CHECK ("tenants"."retention_days" between 1 and 3650);