CREATE TYPE "public"."api_key_role" AS ENUM('ADMIN', 'SENDER', 'READER');--> statement-breakpoint
CREATE TYPE "public"."channel" AS ENUM('SMS', 'EMAIL', 'WHATSAPP', 'TWITTER_DM');--> statement-breakpoint
CREATE TYPE "public"."provider" AS ENUM('TWILIO', 'SENDGRID', 'TWITTER', 'SANDBOX');--> statement-breakpoint
CREATE TYPE "public"."recipient_kind" AS ENUM('CLIENT', 'STAFF', 'CUSTOMER');--> statement-breakpoint
CREATE TABLE "gateways" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"channel" "channel" NOT NULL,
	"provider" "provider" NOT NULL,
	"name" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"credentials" text,
	"env_source" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "recipients" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" "recipient_kind" NOT NULL,
	"external_ref" text,
	"display_name" text NOT NULL,
	"phone" text,
	"email" text,
	"whatsapp" text,
	"twitter_handle" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"tenant_id" uuid NOT NULL,
	"recipient_id" uuid NOT NULL,
	"channel" "channel" NOT NULL,
	"gateway_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscriptions_recipient_id_channel_pk" PRIMARY KEY("recipient_id","channel")
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"role" "api_key_role" NOT NULL,
	"key_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "gateways" ADD CONSTRAINT "gateways_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "recipients" ADD CONSTRAINT "recipients_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_recipient_id_recipients_id_fk" FOREIGN KEY ("recipient_id") REFERENCES "public"."recipients"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_gateway_id_gateways_id_fk" FOREIGN KEY ("gateway_id") REFERENCES "public"."gateways"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "gateways_one_default" ON "gateways" USING btree ("tenant_id","channel") WHERE "gateways"."is_default";--> statement-breakpoint
CREATE UNIQUE INDEX "gateways_tenant_channel_name" ON "gateways" USING btree ("tenant_id","channel","name");--> statement-breakpoint
CREATE INDEX "gateways_tenant_channel" ON "gateways" USING btree ("tenant_id","channel","id");--> statement-breakpoint
CREATE INDEX "recipients_tenant_id" ON "recipients" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "recipients_tenant_kind_id" ON "recipients" USING btree ("tenant_id","kind","id");--> statement-breakpoint
CREATE INDEX "recipients_tenant_external_ref" ON "recipients" USING btree ("tenant_id","external_ref");--> statement-breakpoint
CREATE INDEX "subscriptions_gateway" ON "subscriptions" USING btree ("gateway_id");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_key_hash" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_tenant" ON "api_keys" USING btree ("tenant_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tenants_one_default" ON "tenants" USING btree ("is_default") WHERE "tenants"."is_default";