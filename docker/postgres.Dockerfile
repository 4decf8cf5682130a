# PostgreSQL 15 for zchat's HA stack (docker-compose.ha.yml), from Debian's own packages on
# the same base image as the zchat image (no registry image needed):
#
#   docker build -f docker/postgres.Dockerfile -t zchat-postgres docker/
#
# On first start, the entrypoint (docker/postgres-entrypoint.sh) runs initdb into the volume
# at /var/lib/postgresql/data with the role POSTGRES_USER (default zchat) whose password
# comes from POSTGRES_PASSWORD or the file named by POSTGRES_PASSWORD_FILE, creates the
# database POSTGRES_DB (default zchat), and allows password (scram-sha-256) logins from the
# container network. Later starts use what is in the volume.
ARG RUNTIME_IMAGE=debian:bookworm-slim
FROM ${RUNTIME_IMAGE}

# postgresql-common first, told not to create the package's default cluster: the entrypoint
# makes the one cluster, in the volume. The postgres system user comes with the package.
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends postgresql-common; \
    sed -ri 's/^#?\s*create_main_cluster\s*=.*$/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf; \
    grep -q '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf; \
    apt-get install -y -qq --no-install-recommends postgresql-15; \
    apt-get clean; rm -rf /var/lib/apt/lists/*; \
    test ! -e /var/lib/postgresql/15/main; \
    mkdir -p /var/lib/postgresql/data /var/run/postgresql; \
    chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql; \
    chmod 0700 /var/lib/postgresql/data

COPY postgres-entrypoint.sh /usr/local/bin/zchat-postgres-entrypoint
RUN chmod 0755 /usr/local/bin/zchat-postgres-entrypoint

ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data \
    POSTGRES_USER=zchat \
    POSTGRES_DB=zchat \
    LANG=C.UTF-8
USER postgres
VOLUME /var/lib/postgresql/data
EXPOSE 5432
# SIGINT is PostgreSQL's fast shutdown (ends sessions, checkpoints); SIGTERM would wait for
# every client (the servers' pooled connections) to leave.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=3s --retries=5 --start-period=10s \
    CMD pg_isready -q -h 127.0.0.1 -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB"
LABEL org.opencontainers.image.title="zchat-postgres" \
      org.opencontainers.image.description="PostgreSQL 15 from Debian's packages, for zchat" \
      org.opencontainers.image.licenses="MIT"
ENTRYPOINT ["zchat-postgres-entrypoint"]
CMD []
