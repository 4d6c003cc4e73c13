package cli

// starterConfig is what `portcullis init` writes. Every setting shown is
// the default unless marked otherwise.
const starterConfig = `# Portcullis configuration. Every key is checked: a misspelt key is an error.
# Any scalar can be overridden from the environment: server.addr is
# PORTCULLIS_SERVER_ADDR, token.expiration is PORTCULLIS_TOKEN_EXPIRATION, ...

data_dir: @DATA@

log:
  level: info        # debug, info, warn, error
  format: text       # text or json

server:
  addr: 127.0.0.1:5001
  # tls_cert / tls_key default to DATA_DIR/tls.crt and tls.key (self-signed
  # for localhost on first start). insecure_http: true serves plain HTTP for
  # use behind a TLS-terminating proxy.
  # trusted_proxies: [10.0.0.0/8]

token:
  issuer: portcullis          # the registry's auth.token.issuer
  service: registry           # the registry's auth.token.service (and the token's aud)
  expiration: 5m
  route: /token               # also answered: /auth and /v2/token
  keys:
    - key: @KEY@
      cert: @CERT@            # the registry's auth.token.rootcertbundle
      alg: ES256
      sign: true
    # Rotation: portcullis keys generate --out-key NEW.key --out-cert NEW.crt,
    # add NEW.crt to the registry's rootcertbundle, list the new key here
    # with sign: true (sign off the old one) and restart: SIGHUP re-reads key
    # files, not this file. Both stay published until you remove the old one.

authn:
  bcrypt_cost: 10
  cache:
    ttl: 5m                   # verified credentials are not re-hashed for this long
    max_entries: 10000
  chain:
    - type: apptoken          # application tokens used as passwords
    - type: htpasswd
      path: @DATA@/htpasswd   # new file: htpasswd -cB @DATA@/htpasswd alice (more users: -B, no -c)
      admins: []
    - type: db                # users managed with portcullis user add
    # - type: static
    #   users:
    #     ci:
    #       password: "$2y$10$..."   # portcullis hash
    #       labels: {team: [build]}
    # - type: ldap              # docs/ldap.md
    #   name: corp
    #   on_error: fail          # directory down: 503 (or skip to the next)
    #   ldap:
    #     urls: [ldaps://ldap1.example.com, ldaps://ldap2.example.com]
    #     ca_file: /etc/ssl/corp-ca.pem
    #     bind_dn: cn=portcullis,ou=services,dc=example,dc=com
    #     bind_password_file: /run/secrets/ldap-bind
    #     base_dn: ou=people,dc=example,dc=com
    #     user_filter: "(&(objectClass=inetOrgPerson)(uid={username}))"
    #     group_search:
    #       base_dn: ou=groups,dc=example,dc=com
    #       filter: "(&(objectClass=groupOfNames)(member={dn}))"
    #       attribute: cn
    #       label: groups
    #     admin_groups: [registry-admins]

# First matching rule decides. Without an acl section the default applies:
# admins everything; users pull/push/delete under ${account}/**; anonymous nothing.
acl:
  - match: {admin: true}
    actions: ["*"]
    comment: administrators may do everything
  - match: {anonymous: false, type: repository, name: "${account}/**"}
    actions: [pull, push, delete]
    comment: users own their namespace
  # - match: {type: repository, name: "public/**"}
  #   actions: [pull]
  #   comment: anyone, even anonymous, may pull public images

store:
  type: sqlite                # or postgres with dsn: postgres://...

app_tokens:
  max_per_user: 5

# Docker Engine API gateway: tokens instead of client certificates
# (docs/engine.md; portcullis engine init prints a complete set-up).
# engine:
#   enabled: true
#   addr: 0.0.0.0:2376
#   upstream: unix:///var/run/docker.sock

# HMAC API-key gateway for cyphernode-style clients (docs/apigw.md).
# api_gateway:
#   enabled: true
#   addr: 127.0.0.1:8443
#   keys_file: @DATA@/keys.properties
#   routes:
#     - prefix: /v0/
#       upstream: http://127.0.0.1:8888
#       strip_prefix: true
#       groups: [admin, spender]
`
