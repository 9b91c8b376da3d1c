-- The Python mama's schema (msaltnet/mama v1.0.0) at its final Alembic revision fb6980a9f359:
-- 2afc55eb9ecb "start" creates the tables; fb6980a9f359 drops the event_logs foreign keys and makes
-- event_logs.user_id and admin_id VARCHAR(50). Written as Alembic emits it for PostgreSQL.
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE admins (
    id SERIAL NOT NULL,
    username VARCHAR(50) NOT NULL,
    password VARCHAR(255) NOT NULL,
    is_super_admin BOOLEAN,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (username)
);

CREATE TABLE users (
    id SERIAL NOT NULL,
    user_id VARCHAR(50) NOT NULL,
    organization VARCHAR(100),
    key_value VARCHAR(255) NOT NULL,
    extra_info TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (user_id)
);

CREATE TABLE allowed_models (
    id SERIAL NOT NULL,
    user_id INTEGER NOT NULL,
    model_name VARCHAR(100) NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES users (id)
);

CREATE TABLE allowed_services (
    id SERIAL NOT NULL,
    user_id INTEGER NOT NULL,
    service_name VARCHAR(100) NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES users (id)
);

CREATE TABLE event_logs (
    id SERIAL NOT NULL,
    user_id VARCHAR(50),
    admin_id VARCHAR(50),
    event_type VARCHAR(50) NOT NULL,
    event_detail TEXT,
    result VARCHAR(50),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now(),
    PRIMARY KEY (id)
);

INSERT INTO alembic_version (version_num) VALUES ('fb6980a9f359');
