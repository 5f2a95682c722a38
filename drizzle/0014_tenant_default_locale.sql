ALTER TABLE "tenants" ADD COLUMN "default_locale" text DEFAULT 'en' NOT NULL;--> statement-breakpoint
-- Processes cache each tenant's default locale beside its templates: a change is announced on
-- the templates' channel as "<tenant uuid>:" (no template), and every process drops the tenant's entries.
CREATE OR REPLACE FUNCTION herald_notify_tenant_locale_changed() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('herald_template_changed', NEW.id::text || ':');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER tenants_notify_locale_changed AFTER UPDATE OF default_locale ON tenants
  FOR EACH ROW WHEN (OLD.default_locale IS DISTINCT FROM NEW.default_locale)
  EXECUTE FUNCTION herald_notify_tenant_locale_changed();
