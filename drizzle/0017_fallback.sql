ALTER TABLE "messages" ADD COLUMN "fallback" json;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "fallback_after_seconds" integer;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "fallback_of" uuid;--> statement-breakpoint
ALTER TABLE "templates" ADD COLUMN "fallback" "channel"[];--> statement-breakpoint
ALTER TABLE "templates" ADD COLUMN "fallback_after_seconds" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_fallback_of" ON "messages" USING btree ("fallback_of") WHERE "messages"."fallback_of" is not null;--> statement-breakpoint
CREATE INDEX "messages_fallback_pending" ON "messages" USING btree ("status","sent_at") WHERE "messages"."fallback" is not null;