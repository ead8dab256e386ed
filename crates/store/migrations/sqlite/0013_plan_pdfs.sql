-- Each agreed plan version's PDF as generated at agreement (base64), so the copy the person was given can
-- always be shown again exactly; drafts have none.
ALTER TABLE care_plan_version ADD COLUMN pdf_base64 TEXT;
