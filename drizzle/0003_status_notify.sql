-- Every status change, by any process (API, worker, webhook), is announced on
-- herald_message_status, so every API process can push it to its subscribers.
CREATE OR REPLACE FUNCTION herald_notify_message_status() RETURNS trigger AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    PERFORM pg_notify('herald_message_status', json_build_object(
      'id', NEW.id, 'tenantId', NEW.tenant_id, 'recipientId', NEW.recipient_id, 'status', NEW.status)::text);
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
DROP TRIGGER IF EXISTS messages_status_notify ON messages;
--> statement-breakpoint
CREATE TRIGGER messages_status_notify AFTER UPDATE OF status ON messages
  FOR EACH ROW EXECUTE FUNCTION herald_notify_message_status();
