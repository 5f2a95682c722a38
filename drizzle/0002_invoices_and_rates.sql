ALTER TABLE "gateways" ADD COLUMN "max_per_second" double precision;--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "next_slot_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "paused_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "recipients" ADD COLUMN "twitter_user_id" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "billing_cycle_id" text;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_tenant_cycle_invoice" ON "messages" USING btree ("tenant_id","billing_cycle_id","invoice_number") WHERE "messages"."billing_cycle_id" is not null;