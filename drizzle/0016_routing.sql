CREATE TYPE "public"."circuit_state" AS ENUM('CLOSED', 'OPEN', 'HALF_OPEN');--> statement-breakpoint
CREATE TYPE "public"."routing_strategy" AS ENUM('PRIORITY', 'WEIGHTED');--> statement-breakpoint
CREATE TABLE "channel_routes" (
	"tenant_id" uuid NOT NULL,
	"channel" "channel" NOT NULL,
	"gateway_id" uuid NOT NULL,
	"priority" integer,
	"weight" integer,
	CONSTRAINT "channel_routes_tenant_id_channel_gateway_id_pk" PRIMARY KEY("tenant_id","channel","gateway_id")
);
--> statement-breakpoint
CREATE TABLE "channel_routing" (
	"tenant_id" uuid NOT NULL,
	"channel" "channel" NOT NULL,
	"strategy" "routing_strategy" NOT NULL,
	"failover_pinned" boolean NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "channel_routing_tenant_id_channel_pk" PRIMARY KEY("tenant_id","channel")
);
--> statement-breakpoint
CREATE TABLE "gateway_health" (
	"gateway_id" uuid PRIMARY KEY NOT NULL,
	"state" "circuit_state" NOT NULL,
	"window_started_at" timestamp with time zone NOT NULL,
	"successes" integer NOT NULL,
	"failures" integer NOT NULL,
	"last_failure_at" timestamp with time zone,
	"opened_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "pinned" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "gateway_pinned" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "channel_routes" ADD CONSTRAINT "channel_routes_gateway_id_gateways_id_fk" FOREIGN KEY ("gateway_id") REFERENCES "public"."gateways"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "channel_routing" ADD CONSTRAINT "channel_routing_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "gateway_health" ADD CONSTRAINT "gateway_health_gateway_id_gateways_id_fk" FOREIGN KEY ("gateway_id") REFERENCES "public"."gateways"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Subscriptions made before a subscription could be unpinned: one on a gateway that is not
-- its channel's default named that gateway; one on the default may have named none.
UPDATE subscriptions s SET pinned = NOT EXISTS (SELECT 1 FROM gateways g WHERE g.id = s.gateway_id AND g.is_default);
