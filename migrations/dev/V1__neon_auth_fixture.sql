-- DEVELOPMENT AND TESTS ONLY (schema.md §6.3). In production the neon_auth schema belongs to
-- Neon Auth; `migrate` applies this file only with --dev, never by default.
CREATE SCHEMA IF NOT EXISTS neon_auth;
CREATE TABLE IF NOT EXISTS neon_auth."user" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  "name" text NOT NULL,
  "email" text NOT NULL CONSTRAINT "user_email_key" UNIQUE,
  "emailVerified" boolean NOT NULL,
  "image" text,
  "createdAt" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updatedAt" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "role" text, "banned" boolean, "banReason" text, "banExpires" timestamptz
);
CREATE TABLE IF NOT EXISTS neon_auth.session (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  "expiresAt" timestamptz NOT NULL,
  "token" text NOT NULL CONSTRAINT "session_token_key" UNIQUE,
  "createdAt" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updatedAt" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "ipAddress" text, "userAgent" text,
  "userId" uuid NOT NULL CONSTRAINT "session_userId_fkey" REFERENCES neon_auth."user"("id") ON DELETE CASCADE,
  "impersonatedBy" text, "activeOrganizationId" text
);
CREATE INDEX IF NOT EXISTS "session_userId_idx" ON neon_auth.session ("userId");
