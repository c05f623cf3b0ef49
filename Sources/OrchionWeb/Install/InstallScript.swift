/// `/install.sh`: a POSIX shell script that installs the `orchion` this orchestrator serves
/// and joins the machine to it —
/// `curl -fsSL http://HOST:50052/install.sh | sh -s -- --server HOST:50051 --token JOIN`.
///
/// The script carries the SHA-256 of every binary on offer and refuses a download that does
/// not match (so a download altered on its way is never run). Over HTTPS it talks to the
/// orchestrator only through the server key pinned in the join line (`--pinnedpubkey`), fetches
/// the CA, checks it against the fingerprint in the line, and from then on verifies TLS with
/// it (the agent too). The token goes to a 0600 file, never into a URL or the unit.
enum InstallScript {
  struct Inputs: Sendable {
    /// `http(s)://host:port` of this HTTP server, as the machine being joined reaches it.
    var base: String
    /// curl's `--pinnedpubkey` value for this server's key (`sha256//…`), over HTTPS.
    var pinnedKey: String?
    /// Whether `/install/ca.pem` is served.
    var servesCA: Bool
    /// `(arch, sha256)` of each binary on offer.
    var binaries: [(arch: String, sha256: String)]
  }

  /// The script for `inputs`. Everything put into it is one of: a URL this server built, a
  /// key pin, hex digests and architecture names — quoted, and never taken from a request.
  static func render(_ inputs: Inputs) -> String {
    let sums = inputs.binaries.map { "    \($0.arch)) expected='\($0.sha256)' ;;" }.joined(separator: "\n")
    return """
      #!/bin/sh
      # Installs orchion from the orchestrator that served this script and joins this machine.
      #   curl -fsSL \(inputs.base)/install.sh | sh -s -- --server HOST:PORT --token JOIN_TOKEN
      # Options: --server, --token, --tls-ca-sha256 HEX (HTTPS), --tls-ca FILE, --service (run the
      # agent as a systemd service: a system one as root, else a user one; --unit-dir DIR writes
      # the unit there), --no-start (install only), --dir DIR (where orchion goes; default
      # /usr/local/bin as root, else ~/.local/bin), --data-dir DIR, -- AGENT FLAGS...
      set -eu
      base='\(inputs.base)'
      pin='\(inputs.pinnedKey ?? "")'
      serves_ca='\(inputs.servesCA ? "1" : "0")'

      say() { printf 'orchion install: %s\\n' "$*" >&2; }
      die() { say "$*"; exit 1; }

      server='' token='' ca_sha='' ca_file='' service=0 start=1 dir='' data_dir='' unit_dir=''
      while [ $# -gt 0 ]; do
        case "$1" in
          --server) [ $# -ge 2 ] || die "--server needs HOST:PORT"; server=$2; shift 2 ;;
          --token) [ $# -ge 2 ] || die "--token needs a join token"; token=$2; shift 2 ;;
          --tls-ca-sha256) [ $# -ge 2 ] || die "--tls-ca-sha256 needs a digest"; ca_sha=$2; shift 2 ;;
          --tls-ca) [ $# -ge 2 ] || die "--tls-ca needs a file"; ca_file=$2; shift 2 ;;
          --service) service=1; shift ;;
          --unit-dir) [ $# -ge 2 ] || die "--unit-dir needs a directory"; unit_dir=$2; shift 2 ;;
          --no-start) start=0; shift ;;
          --dir) [ $# -ge 2 ] || die "--dir needs a directory"; dir=$2; shift 2 ;;
          --data-dir) [ $# -ge 2 ] || die "--data-dir needs a directory"; data_dir=$2; shift 2 ;;
          --) shift; break ;;
          *) die "unknown option: $1 (see the comment at the top of $base/install.sh)" ;;
        esac
      done
      [ -n "$server" ] || die "give the orchestrator: --server HOST:PORT"
      [ -n "$token" ] || die "give a join token: --token JOIN_TOKEN (orchion token create --join)"
      [ "$(uname -s)" = Linux ] || die "this script installs the Linux build; on $(uname -s), build from source"
      command -v curl >/dev/null 2>&1 || die "curl is needed"

      arch=$(uname -m)
      case "$arch" in amd64) arch=x86_64 ;; arm64) arch=aarch64 ;; esac
      expected=''
      case "$arch" in
      \(sums)
        *) die "this orchestrator serves no orchion for $arch (make dist on a $arch machine puts one in its dist directory)" ;;
      esac

      if [ -z "$dir" ]; then
        if [ "$(id -u)" = 0 ]; then dir=/usr/local/bin; else dir="$HOME/.local/bin"; fi
      fi
      [ -n "$data_dir" ] || data_dir="$HOME/.orchion/agent"
      umask 077
      work=$(mktemp -d)
      trap 'rm -rf "$work"' EXIT INT TERM

      # Over HTTPS: the pinned key authenticates the orchestrator until the CA is known.
      fetch() {
        if [ -n "$ca_file" ]; then curl -fsSL --cacert "$ca_file" "$@"
        elif [ -n "$pin" ]; then curl -fsSLk --pinnedpubkey "$pin" "$@"
        else curl -fsSL "$@"; fi
      }
      sha256() {
        if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
        else shasum -a 256 "$1" | cut -d' ' -f1; fi
      }

      if [ -n "$pin" ] && [ -z "$ca_file" ]; then
        [ "$serves_ca" = 1 ] || die "the orchestrator serves HTTPS without a CA to hand out: give --tls-ca FILE"
        [ -n "$ca_sha" ] || die "give the CA's fingerprint from the join line: --tls-ca-sha256 HEX"
        fetch -o "$work/ca.pem" "$base/install/ca.pem"
        [ "$(sha256 "$work/ca.pem")" = "$ca_sha" ] || die "the CA served does not match --tls-ca-sha256: refusing it"
        mkdir -p "$data_dir"
        cp "$work/ca.pem" "$data_dir/ca.pem"
        ca_file="$data_dir/ca.pem"
      fi

      say "downloading orchion for linux/$arch from $base"
      fetch -o "$work/orchion" "$base/download/orchion-linux-$arch"
      actual=$(sha256 "$work/orchion")
      [ "$actual" = "$expected" ] || die "checksum mismatch: expected $expected, got $actual — the download was altered or cut short; nothing installed"
      chmod 0755 "$work/orchion"
      mkdir -p "$dir"
      # Beside the target, then renamed over it: a running agent keeps its old file.
      cp "$work/orchion" "$dir/.orchion.new"
      mv -f "$dir/.orchion.new" "$dir/orchion"
      say "installed $dir/orchion ($("$dir/orchion" --version 2>/dev/null || echo unknown version), sha256 $actual)"

      mkdir -p "$data_dir"
      printf '%s\\n' "$token" > "$data_dir/join.token"
      tls=''
      [ -z "$ca_file" ] || tls="--tls-ca $ca_file"
      if [ "$service" = 1 ]; then
        scope=''
        [ "$(id -u)" = 0 ] || scope='--user'
        # shellcheck disable=SC2086
        exec "$dir/orchion" agent install-service $scope ${unit_dir:+--unit-dir "$unit_dir"} --server "$server" --token-file "$data_dir/join.token" --data-dir "$data_dir" $tls -- "$@"
      fi
      if [ "$start" = 0 ]; then
        say "start the agent with: $dir/orchion agent --server $server --token-file $data_dir/join.token --data-dir $data_dir $tls"
        exit 0
      fi
      say "starting the agent (Ctrl-C stops it; --service runs it as a systemd service instead)"
      # shellcheck disable=SC2086
      exec "$dir/orchion" agent --server "$server" --token-file "$data_dir/join.token" --data-dir "$data_dir" $tls "$@"

      """
  }
}
