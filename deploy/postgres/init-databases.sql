-- Runs once, when the PostgreSQL volume is first created (docker-entrypoint-initdb.d).
-- One database per service plus the shared tenant directory; all owned by the application role
-- (POSTGRES_USER). Each service's Alembic migrations create the tables (`claimflow migrate <service>`).
CREATE DATABASE coding;
CREATE DATABASE eligibility;
CREATE DATABASE claims;
CREATE DATABASE remit;
CREATE DATABASE directory;
