CREATE TABLE "send_budgets" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"per_minute" integer,
	"per_day" integer,
	"international_per_day" integer,
	"home_countries" text[],
	"minute_started_at" timestamp with time zone,
	"minute_used" integer DEFAULT 0 NOT NULL,
	"day_started_at" timestamp with time zone,
	"day_used" integer DEFAULT 0 NOT NULL,
	"international_started_at" timestamp with time zone,
	"international_used" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "send_budgets" ADD CONSTRAINT "send_budgets_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;