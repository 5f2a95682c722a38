DROP INDEX "messages_tenant_invoice_id";--> statement-breakpoint
DROP INDEX "messages_tenant_cycle_invoice";--> statement-breakpoint
CREATE UNIQUE INDEX "messages_tenant_invoice_cycle" ON "messages" USING btree ("tenant_id","invoice_number","billing_cycle_id") WHERE "messages"."invoice_number" is not null;