/** The profiles example of docs/PRODUCT.md, section 9, verbatim. */
export const PRODUCT_EXAMPLE = `version: 1
profiles:
  devbox:
    host: dev@devbox              # [user@]host[:port] or an ssh_config alias; the other fields mirror the CLI flags
    jump: bastion                 # -J
    identity: ~/.ssh/id_ed25519   # -i (string or list)
    options: { ServerAliveInterval: 15 }   # -o
    auto: true                    # mirror every remote port (default true); false = explicit forwards only
    ports: 3000,5173,8000-8999    # -p     exclude: 9229   protocol: both   transport: auto   conflict: remap
    forwards:                     # -L / -R / -D, string or object
      - 5432:db.internal:5432
      - { name: replica, local: 5433, remote_host: db-replica.internal, remote_port: 5432 }
    attributes:                   # per remote port or range, like VS Code's portsAttributes
      3000: { label: web, on_forward: open-browser }   # notify (default) | open-browser | silent | ignore
      "8000-8999": { label: api, require_local_port: true }
`;
