CREATE TYPE "public"."delivery_outcome" AS ENUM('SUCCESS', 'FAILURE');--> statement-breakpoint
CREATE TYPE "public"."message_status" AS ENUM('SCHEDULED', 'QUEUED', 'SENDING', 'SENT', 'DELIVERED', 'FAILED', 'CANCELLED');--> statement-breakpoint
CREATE TABLE "delivery_logs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"message_id" uuid,
	"recipient_id" uuid,
	"gateway_id" uuid,
	"channel" "channel",
	"outcome" "delivery_outcome" NOT NULL,
	"reason" text,
	"attempt" integer,
	"provider_code" text,
	"order_id" text,
	"order_status" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"recipient_id" uuid NOT NULL,
	"gateway_id" uuid,
	"channel" "channel" NOT NULL,
	"status" "message_status" NOT NULL,
	"body" text NOT NULL,
	"subject" text,
	"html_body" text,
	"destination" text NOT NULL,
	"scheduled_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"provider_message_id" text,
	"error_code" text,
	"error_message" text,
	"order_id" text,
	"order_status" text,
	"invoice" jsonb,
	"invoice_number" text,
	"idempotency_key" text,
	"request_hash" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "delivery_logs" ADD CONSTRAINT "delivery_logs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivery_logs" ADD CONSTRAINT "delivery_logs_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivery_logs" ADD CONSTRAINT "delivery_logs_recipient_id_recipients_id_fk" FOREIGN KEY ("recipient_id") REFERENCES "public"."recipients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivery_logs" ADD CONSTRAINT "delivery_logs_gateway_id_gateways_id_fk" FOREIGN KEY ("gateway_id") REFERENCES "public"."gateways"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_recipient_id_recipients_id_fk" FOREIGN KEY ("recipient_id") REFERENCES "public"."recipients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_gateway_id_gateways_id_fk" FOREIGN KEY ("gateway_id") REFERENCES "public"."gateways"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "delivery_logs_tenant_id" ON "delivery_logs" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "delivery_logs_message_id" ON "delivery_logs" USING btree ("message_id","id");--> statement-breakpoint
CREATE INDEX "delivery_logs_tenant_recipient_id" ON "delivery_logs" USING btree ("tenant_id","recipient_id","id");--> statement-breakpoint
CREATE INDEX "delivery_logs_tenant_order_id" ON "delivery_logs" USING btree ("tenant_id","order_id","id") WHERE "delivery_logs"."order_id" is not null;--> statement-breakpoint
CREATE INDEX "messages_tenant_id" ON "messages" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "messages_tenant_status_id" ON "messages" USING btree ("tenant_id","status","id");--> statement-breakpoint
CREATE INDEX "messages_tenant_channel_id" ON "messages" USING btree ("tenant_id","channel","id");--> statement-breakpoint
CREATE INDEX "messages_tenant_recipient_id" ON "messages" USING btree ("tenant_id","recipient_id","id");--> statement-breakpoint
CREATE INDEX "messages_tenant_order_id" ON "messages" USING btree ("tenant_id","order_id","id") WHERE "messages"."order_id" is not null;--> statement-breakpoint
CREATE INDEX "messages_tenant_invoice_id" ON "messages" USING btree ("tenant_id","invoice_number","id") WHERE "messages"."invoice_number" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_tenant_idempotency_key" ON "messages" USING btree ("tenant_id","idempotency_key") WHERE "messages"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "messages_provider_message_id" ON "messages" USING btree ("provider_message_id") WHERE "messages"."provider_message_id" is not null;--> statement-breakpoint
CREATE INDEX "messages_sending_updated" ON "messages" USING btree ("updated_at") WHERE "messages"."status" = 'SENDING';