ALTER TABLE "delivery_logs" DROP CONSTRAINT "delivery_logs_tenant_id_tenants_id_fk";
--> statement-breakpoint
ALTER TABLE "delivery_logs" DROP CONSTRAINT "delivery_logs_message_id_messages_id_fk";
--> statement-breakpoint
ALTER TABLE "delivery_logs" DROP CONSTRAINT "delivery_logs_recipient_id_recipients_id_fk";
--> statement-breakpoint
ALTER TABLE "delivery_logs" DROP CONSTRAINT "delivery_logs_gateway_id_gateways_id_fk";
--> statement-breakpoint
ALTER TABLE "messages" DROP CONSTRAINT "messages_tenant_id_tenants_id_fk";
--> statement-breakpoint
ALTER TABLE "messages" DROP CONSTRAINT "messages_recipient_id_recipients_id_fk";
--> statement-breakpoint
ALTER TABLE "messages" DROP CONSTRAINT "messages_gateway_id_gateways_id_fk";
