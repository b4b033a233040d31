import Configuration
import Testing

/// One file that must be rejected: the error's kind and key path, and phrases the message must
/// contain (what was expected, what was found).
struct ErrorCase: Sendable, CustomTestStringConvertible {
    let name: String
    let json: String
    let kind: ConfigError.Kind
    let path: String
    let phrases: [String]

    init(_ name: String, _ json: String, _ kind: ConfigError.Kind, _ path: String, _ phrases: [String]) {
        self.name = name
        self.json = json
        self.kind = kind
        self.path = path
        self.phrases = phrases
    }

    var testDescription: String { name }
}

private let absolute = #"expected an absolute path (starting with "/")"#
private let absoluteFile = #"expected an absolute file path (starting with "/", not ending with "/")"#
private let tempPrefixRule = #"expected "." followed by letters, digits, ".", "_" or "-""#
private let tempSuffixRule = #"expected letters, digits, ".", "_" or "-" (or "")"#
private let longRuntime = "/run/" + String(repeating: "x", count: 59) // 64 bytes

let errorCases: [ErrorCase] = [
    // Types and ranges
    .init(
        "port as string", Doc.nas(#""port": "22a""#), .wrongType, "destinations[0].port",
        ["expected an integer from 1 to 65535", #"found "22a" (a string)"#]),
    .init(
        "port zero", Doc.nas(#""port": 0"#), .outOfRange, "destinations[0].port",
        ["expected an integer from 1 to 65535", "found 0 (a number)"]),
    .init(
        "port too large", Doc.nas(#""port": 65536"#), .outOfRange, "destinations[0].port",
        ["expected an integer from 1 to 65535", "found 65536 (a number)"]),
    .init(
        "port with a fraction", Doc.nas(#""port": 22.5"#), .wrongType, "destinations[0].port",
        ["expected an integer from 1 to 65535", "found 22.5 (a number)"]),
    .init(
        "port as boolean", Doc.nas(#""port": true"#), .wrongType, "destinations[0].port",
        ["expected an integer from 1 to 65535", "found true (a boolean)"]),
    .init(
        "port null", Doc.nas(#""port": null"#), .wrongType, "destinations[0].port",
        ["expected an integer from 1 to 65535", "found null"]),
    .init(
        "huge number", Doc.nas(#""port": 1e30"#), .outOfRange, "destinations[0].port",
        ["expected an integer from 1 to 65535", "found 1e+30 (a number)"]),
    .init(
        "huge integer", Doc.with("concurrency_control", #""batch_max_files": 18446744073709551615"#), .outOfRange,
        "concurrency_control.batch_max_files", ["expected an integer from 1 to 1000000", "found 1.8446744073709552e+19 (a number)"]),
    .init(
        "boolean as string", Doc.make(local: Doc.local + #", "skip_hidden": "yes""#), .wrongType, "local.skip_hidden",
        ["expected a boolean (true or false)", #"found "yes" (a string)"#]),
    .init(
        "duration as string", Doc.with("schedule", #""interval_minutes": "10m""#), .wrongType, "schedule.interval_minutes",
        ["expected a number of minutes greater than 0 and at most 525600", #"found "10m" (a string)"#]),
    .init(
        "section not an object", Doc.make(extra: #""logging": "info""#), .wrongType, "logging",
        ["expected an object", #"found "info" (a string)"#]),
    .init(
        "top level not an object", "[]", .wrongType, "",
        ["expected a JSON object at the top level", "found an empty array"]),
    .init(
        "connect timeout zero", Doc.nas(#""connect_timeout_seconds": 0"#), .outOfRange,
        "destinations[0].connect_timeout_seconds", ["expected an integer from 1 to 3600", "found 0 (a number)"]),
    .init(
        "keepalive count zero", Doc.nas(#""server_alive_count_max": 0"#), .outOfRange,
        "destinations[0].server_alive_count_max", ["expected an integer from 1 to 1000", "found 0 (a number)"]),
    .init(
        "negative resume size", Doc.nas(#""resume_min_bytes": -1"#), .outOfRange,
        "destinations[0].resume_min_bytes", ["expected an integer from 0 to 1125899906842624", "found -1 (a number)"]),
    .init(
        "negative keepalive interval", Doc.nas(#""server_alive_interval_seconds": -1"#), .outOfRange,
        "destinations[0].server_alive_interval_seconds", ["expected an integer from 0 to 3600", "found -1 (a number)"]),

    // Remote layout templates (config check refuses what would escape the base or collide)
    .init(
        "layout unknown placeholder", Doc.with("layout", #""remote_layout": "{dock}/{year}/{name}""#), .invalidValue,
        "layout.remote_layout", ["has an unknown placeholder {year}", "{dock} {yyyy} {mm} {dd} {name} {stem} {ext} {kind}"]),
    .init(
        "layout parent folder", Doc.with("layout", #""remote_layout": "../{yyyy}/{name}""#), .invalidValue,
        "layout.remote_layout", [#"may not contain "." or ".." as a folder"#]),
    .init(
        "layout absolute", Doc.with("layout", #""remote_layout": "/srv/{name}""#), .invalidValue,
        "layout.remote_layout", ["must be relative to the destination's base"]),
    .init(
        "layout without a name", Doc.with("layout", #""remote_layout": "{yyyy}/{mm}/{dd}""#), .invalidValue,
        "layout.remote_layout", ["exactly one {name} or {stem}"]),
    .init(
        "layout name in a folder", Doc.with("layout", #""remote_layout": "{name}/{stem}""#), .invalidValue,
        "layout.remote_layout", ["only in its last part"]),
    .init(
        "layout hidden folder", Doc.with("layout", #""remote_layout": ".x/{name}""#), .invalidValue,
        "layout.remote_layout", ["hidden folders"]),
    .init(
        "layout empty folder", Doc.with("layout", #""remote_layout": "{yyyy}//{name}""#), .invalidValue,
        "layout.remote_layout", ["empty folder"]),
    .init(
        "dock id with a slash", Doc.with("layout", #""dock_id": "a/b""#), .invalidValue,
        "layout.dock_id", ["1-64 characters of A-Z a-z 0-9 . _ -"]),
    .init(
        "dock id dot-dot", Doc.with("layout", #""dock_id": "..""#), .invalidValue,
        "layout.dock_id", [#"not starting with ".""#]),

    // Negative and zero durations
    .init(
        "negative min file age", Doc.make(local: Doc.local + #", "min_file_age_seconds": -1"#), .outOfRange,
        "local.min_file_age_seconds", ["expected a number of seconds from 0 to 31536000", "found -1 (a number)"]),
    .init(
        "negative delete delay", Doc.with("delete_policy", #""delay_minutes": -5"#), .outOfRange,
        "delete_policy.delay_minutes", ["expected a number of minutes from 0 to 525600", "found -5 (a number)"]),
    .init(
        "negative interval", Doc.with("schedule", #""interval_minutes": -1"#), .outOfRange, "schedule.interval_minutes",
        ["expected a number of minutes greater than 0 and at most 525600", "found -1 (a number)"]),
    .init(
        "zero interval", Doc.with("schedule", #""interval_minutes": 0"#), .outOfRange, "schedule.interval_minutes",
        ["expected a number of minutes greater than 0 and at most 525600", "found 0 (a number)"]),
    .init(
        "zero transfer timeout", Doc.with("integrity_checks", #""transfer_timeout_seconds": 0"#), .outOfRange,
        "integrity_checks.transfer_timeout_seconds",
        ["expected a number of seconds greater than 0 and at most 31536000", "found 0 (a number)"]),
    .init(
        "negative max sync duration", Doc.with("concurrency_control", #""max_sync_duration_seconds": -0.5"#), .outOfRange,
        "concurrency_control.max_sync_duration_seconds",
        ["expected a number of seconds greater than 0 and at most 31536000", "found -0.5 (a number)"]),
    .init(
        "duration over a year", Doc.with("delete_policy", #""delay_minutes": 1e9"#), .outOfRange,
        "delete_policy.delay_minutes", ["expected a number of minutes from 0 to 525600", "found 1000000000 (a number)"]),

    // Concurrency limits
    .init(
        "no parallel transfers", Doc.with("concurrency_control", #""parallel_transfers": 0"#), .outOfRange,
        "concurrency_control.parallel_transfers", ["expected an integer from 1 to 32", "found 0 (a number)"]),
    .init(
        "too many parallel transfers", Doc.with("concurrency_control", #""parallel_transfers": 33"#), .outOfRange,
        "concurrency_control.parallel_transfers", ["expected an integer from 1 to 32", "found 33 (a number)"]),
    .init(
        "empty batches by count", Doc.with("concurrency_control", #""batch_max_files": 0"#), .outOfRange,
        "concurrency_control.batch_max_files", ["expected an integer from 1 to 1000000", "found 0 (a number)"]),
    .init(
        "empty batches by size", Doc.with("concurrency_control", #""batch_max_megabytes": -1"#), .outOfRange,
        "concurrency_control.batch_max_megabytes", ["expected an integer from 1 to 1048576", "found -1 (a number)"]),

    // Required keys
    .init(
        "no local", #"{"destinations": [{ \#(Doc.nas) }]}"#, .missingKey, "local",
        ["missing required key", #"expected an object with "media_roots""#]),
    .init(
        "no destinations", #"{"local": { \#(Doc.local) }}"#, .missingKey, "destinations",
        ["missing required key", "expected a non-empty array of destination objects"]),
    .init(
        "no media roots", Doc.make(local: #""skip_hidden": true"#), .missingKey, "local.media_roots",
        ["missing required key", "expected a non-empty array of absolute folder paths"]),
    .init(
        "no host", Doc.make(nas: [#""type": "nas", "base_path": "/v""#]), .missingKey, "destinations[0].host",
        ["missing required key", "expected a host name or IP address"]),
    .init(
        "no base path", Doc.make(nas: [#""type": "nas", "host": "h""#]), .missingKey, "destinations[0].base_path",
        ["missing required key", "expected an absolute folder path on the NAS"]),
    .init(
        "no type", Doc.make(nas: [#""host": "h", "base_path": "/v""#]), .missingKey, "destinations[0].type",
        ["missing required key", #"expected "nas""#]),

    // local
    .init(
        "empty media roots", Doc.make(local: #""media_roots": []"#), .invalidValue, "local.media_roots",
        ["expected a non-empty array of absolute folder paths", "found an empty array"]),
    .init(
        "media roots as string", Doc.make(local: #""media_roots": "/data""#), .wrongType, "local.media_roots",
        ["expected a non-empty array of absolute folder paths", #"found "/data" (a string)"#]),
    .init(
        "relative media root", Doc.make(local: #""media_roots": ["/ok", "data/dji"]"#), .invalidValue,
        "local.media_roots[1]", [absolute, #"found "data/dji" (a string)"#]),
    .init(
        "nested media roots", Doc.make(local: #""media_roots": ["/data", "/data/dji/"]"#), .invalidValue,
        "local.media_roots[1]",
        [
            "expected a folder that is not the same as, inside or a parent of another media root",
            #"found "/data/dji/" (a string), inside local.media_roots[0] "/data""#
        ]),
    .init(
        "parent media root", Doc.make(local: #""media_roots": ["/data/dji", "/"]"#), .invalidValue,
        "local.media_roots[1]", [#"found "/" (a string), a parent of local.media_roots[0] "/data/dji""#]),
    .init(
        "same media root twice", Doc.make(local: #""media_roots": ["/data/", "/data"]"#), .invalidValue,
        "local.media_roots[1]", [#"found "/data" (a string), the same folder as local.media_roots[0] "/data""#]),
    .init(
        "empty extensions", Doc.make(local: Doc.local + #", "extensions": []"#), .invalidValue, "local.extensions",
        ["expected a non-empty array of file extensions", "found an empty array"]),
    .init(
        "extension only a dot", Doc.make(local: Doc.local + #", "extensions": ["mp4", "."]"#), .invalidValue,
        "local.extensions[1]", [#"expected a file extension such as "mp4" or ".mp4""#, #"found "." (a string)"#]),
    .init(
        "extension with a dot inside", Doc.make(local: Doc.local + #", "extensions": ["tar.gz"]"#), .invalidValue,
        "local.extensions[0]", [#"expected a file extension such as "mp4""#, #"found "tar.gz" (a string)"#]),
    .init(
        "extension not a string", Doc.make(local: Doc.local + #", "extensions": [4]"#), .wrongType,
        "local.extensions[0]", [#"expected a file extension such as "mp4""#, "found 4 (a number)"]),
    .init(
        "empty temporary suffix", Doc.make(local: Doc.local + #", "temporary_suffixes": [""]"#), .invalidValue,
        "local.temporary_suffixes[0]", [#"expected a non-empty file name ending without "/""#, #"found "" (a string)"#]),

    // Paths that must be absolute
    .init(
        "relative base path", Doc.make(nas: [#""type": "nas", "host": "h", "base_path": "volume1""#]), .invalidValue,
        "destinations[0].base_path", [absolute, #"found "volume1" (a string)"#]),
    .init(
        "relative identity file", Doc.nas(#""identity_file": "id_ed25519""#), .invalidValue,
        "destinations[0].identity_file", [absoluteFile, #"found "id_ed25519" (a string)"#]),
    .init(
        "relative known hosts", Doc.nas(#""known_hosts_file": "~/.ssh/known_hosts""#), .invalidValue,
        "destinations[0].known_hosts_file", [absoluteFile, #"found "~/.ssh/known_hosts" (a string)"#]),
    .init(
        "relative state directory", Doc.with("state", #""directory": "state""#), .invalidValue, "state.directory",
        [absolute, #"found "state" (a string)"#]),
    .init(
        "relative runtime directory", Doc.with("state", #""runtime_directory": "run""#), .invalidValue,
        "state.runtime_directory", [absolute, #"found "run" (a string)"#]),
    .init(
        "relative lock file", Doc.with("concurrency_control", #""lock_file": "sync.lock""#), .invalidValue,
        "concurrency_control.lock_file", [absoluteFile, #"found "sync.lock" (a string)"#]),
    .init(
        "relative ssh config", Doc.nas(#""ssh_config_file": "ssh_config""#), .invalidValue,
        "destinations[0].ssh_config_file", [#"expected "none", an absolute file path or null"#, #"found "ssh_config""#]),
    .init(
        "runtime directory too long", Doc.with("state", #""runtime_directory": "\#(longRuntime)""#), .outOfRange,
        "state.runtime_directory",
        [
            "expected an absolute path of at most 63 bytes", "107-byte unix socket path limit",
            #"found "\#(longRuntime)" (64 bytes)"#
        ]),

    // Destinations
    .init(
        "host starting with a dash", Doc.make(nas: [#""type": "nas", "host": "-oProxyCommand=evil", "base_path": "/v""#]),
        .invalidValue, "destinations[0].host",
        [
            #"expected a host name or IP address (not starting with "-", without spaces)"#,
            #"found "-oProxyCommand=evil" (a string)"#
        ]),
    .init(
        "empty host", Doc.make(nas: [#""type": "nas", "host": "", "base_path": "/v""#]), .invalidValue,
        "destinations[0].host", ["expected a host name or IP address", #"found "" (a string)"#]),
    .init(
        "user starting with a dash", Doc.nas(#""user": "-oX""#), .invalidValue, "destinations[0].user",
        [#"expected a user name (not starting with "-", without spaces) or null"#, #"found "-oX" (a string)"#]),
    .init(
        "name with a space", Doc.nas(#""name": "my nas""#), .invalidValue, "destinations[0].name",
        ["expected a name of 1 to 64 letters, digits", #"found "my nas" (a string)"#]),
    .init(
        "duplicate destination names", Doc.make(nas: [Doc.nas + #", "name": "a""#, #""name": "a", "#.appending(Doc.nas)]),
        .invalidValue, "destinations[1].name",
        ["expected a name no other destination has", #"found "a", which destinations[0] has too"#]),
    .init(
        "duplicate default names", Doc.make(nas: [Doc.nas, Doc.nas]), .invalidValue, "destinations[1].name",
        [
            "expected a name no other destination has",
            #"found "nas" (the default, as "name" is not set), which destinations[0] has too (by default)"#
        ]),
    .init(
        "unknown destination type", Doc.make(nas: [#""type": "ftp", "host": "h""#]), .invalidValue,
        "destinations[0].type", [#"expected one of "nas", "s3""#, #"found "ftp" (a string)"#]),
    .init(
        "destination type not a string", Doc.make(nas: [#""type": 1, "host": "h", "base_path": "/v""#]), .wrongType,
        "destinations[0].type", [#"expected one of "nas", "s3""#, "found 1 (a number)"]),
    .init(
        "empty destinations", #"{"local": { \#(Doc.local) }, "destinations": []}"#, .invalidValue, "destinations",
        ["expected a non-empty array of destination objects", "found an empty array"]),
    .init(
        "destinations as an object", #"{"local": { \#(Doc.local) }, "destinations": { \#(Doc.nas) }}"#, .wrongType,
        "destinations", ["expected a non-empty array of destination objects", "found an object"]),
    .init(
        "destination not an object", #"{"local": { \#(Doc.local) }, "destinations": ["nas.local"]}"#, .wrongType,
        "destinations[0]", [#"expected an object with "type": "nas""#, #"found "nas.local" (a string)"#]),
    .init(
        "ciphers with spaces", Doc.nas(#""ciphers": "aes128-ctr, aes256-ctr""#), .invalidValue, "destinations[0].ciphers",
        ["expected a comma-separated list of ssh ciphers (without spaces) or null", #"found "aes128-ctr, aes256-ctr""#]),
    .init(
        "relative ssh command", Doc.nas(#""ssh_command": "bin/ssh""#), .invalidValue, "destinations[0].ssh_command",
        ["expected a command name (looked up in PATH) or an absolute path", #"found "bin/ssh" (a string)"#]),
    .init(
        "unknown remote hash command", Doc.nas(#""remote_hash_command": "md5sum""#), .invalidValue,
        "destinations[0].remote_hash_command",
        [#"expected one of "auto", "openssl", "sha256sum", "shasum", "sha256""#, #"found "md5sum" (a string)"#]),
    .init(
        "unknown receiver mode", Doc.nas(#""receiver": "forced""#), .invalidValue,
        "destinations[0].receiver",
        [#"expected one of "inline", "installed""#, #"found "forced" (a string)"#]),

    // extra_ssh_options
    .init(
        "ssh option without value", Doc.nas(#""extra_ssh_options": ["ProxyJump bastion"]"#), .invalidValue,
        "destinations[0].extra_ssh_options[0]", [#"expected "Key=Value""#, #"found "ProxyJump bastion" (a string)"#]),
    .init(
        "ssh option without key", Doc.nas(#""extra_ssh_options": ["=x"]"#), .invalidValue,
        "destinations[0].extra_ssh_options[0]", [#"expected "Key=Value""#, #"found "=x" (a string)"#]),
    .init(
        "ssh option with empty value", Doc.nas(#""extra_ssh_options": ["Compression="]"#), .invalidValue,
        "destinations[0].extra_ssh_options[0]", [#"expected "Key=Value""#, #"found "Compression=" (a string)"#]),
    .init(
        "ssh option with a newline", Doc.nas(#""extra_ssh_options": ["Compression=yes\nBatchMode=no"]"#), .invalidValue,
        "destinations[0].extra_ssh_options[0]", [#"expected "Key=Value""#, #"found "Compression=yes\nBatchMode=no""#]),
    .init(
        "BatchMode override", Doc.nas(#""extra_ssh_options": ["Compression=yes", "BatchMode=no"]"#), .invalidValue,
        "destinations[0].extra_ssh_options[1]",
        ["expected an option dji-media-sync does not set itself", #"found "BatchMode=no" (a string)"#]),
    .init(
        "StrictHostKeyChecking override, any case", Doc.nas(#""extra_ssh_options": ["stricthostkeychecking=no"]"#),
        .invalidValue, "destinations[0].extra_ssh_options[0]",
        ["expected an option dji-media-sync does not set itself", #"found "stricthostkeychecking=no""#]),
    .init(
        "UserKnownHostsFile override", Doc.nas(#""extra_ssh_options": ["UserKnownHostsFile=/dev/null"]"#),
        .invalidValue, "destinations[0].extra_ssh_options[0]",
        ["expected an option dji-media-sync does not set itself", #"found "UserKnownHostsFile=/dev/null""#]),
    .init(
        "ControlMaster override", Doc.nas(#""extra_ssh_options": ["ControlMaster=no"]"#), .invalidValue,
        "destinations[0].extra_ssh_options[0]",
        ["expected an option dji-media-sync does not set itself", #"found "ControlMaster=no""#]),
    .init(
        "ControlPath override", Doc.nas(#""extra_ssh_options": ["ControlPath=/tmp/%C"]"#), .invalidValue,
        "destinations[0].extra_ssh_options[0]",
        ["expected an option dji-media-sync does not set itself", #"found "ControlPath=/tmp/%C""#]),
    .init(
        "option with its own key", Doc.nas(#""extra_ssh_options": ["Port=2222"]"#), .invalidValue,
        "destinations[0].extra_ssh_options[0]",
        ["expected an option without a key of its own (use destinations[0].port instead)", #"found "Port=2222""#]),

    // integrity_checks, logging
    .init(
        "checksum other than sha256", Doc.with("integrity_checks", #""checksum_algorithm": "md5""#), .invalidValue,
        "integrity_checks.checksum_algorithm", [#"expected "sha256""#, #"found "md5" (a string)"#]),
    .init(
        "unknown verification", Doc.with("integrity_checks", #""verify_before_delete": "crc32""#), .invalidValue,
        "integrity_checks.verify_before_delete", [#"expected one of "sha256", "size""#, #"found "crc32" (a string)"#]),
    .init(
        "empty temp prefix", Doc.with("integrity_checks", #""temp_prefix": """#), .invalidValue,
        "integrity_checks.temp_prefix", [tempPrefixRule, #"found "" (a string)"#]),
    .init(
        "temp suffix with a slash", Doc.with("integrity_checks", #""temp_suffix": "/x""#), .invalidValue,
        "integrity_checks.temp_suffix", [tempSuffixRule, #"found "/x" (a string)"#]),
    // Temp names reach the NAS's shell: only characters that are inert there.
    .init(
        "temp prefix with a command substitution", Doc.with("integrity_checks", #""temp_prefix": ".x$(touch X)""#),
        .invalidValue, "integrity_checks.temp_prefix", [tempPrefixRule, #"found ".x$(touch X)" (a string)"#]),
    .init(
        "temp prefix with a backtick", Doc.with("integrity_checks", #""temp_prefix": ".x`id`""#),
        .invalidValue, "integrity_checks.temp_prefix", [tempPrefixRule]),
    .init(
        "temp prefix not hidden", Doc.with("integrity_checks", #""temp_prefix": "dms-""#),
        .invalidValue, "integrity_checks.temp_prefix", [tempPrefixRule, #"found "dms-" (a string)"#]),
    .init(
        "temp prefix with a slash", Doc.with("integrity_checks", #""temp_prefix": "./x""#),
        .invalidValue, "integrity_checks.temp_prefix", [tempPrefixRule]),
    .init(
        "temp suffix with a space", Doc.with("integrity_checks", #""temp_suffix": ".part x""#),
        .invalidValue, "integrity_checks.temp_suffix", [tempSuffixRule, #"found ".part x" (a string)"#]),
    .init(
        "temp suffix with a quote", Doc.with("integrity_checks", #""temp_suffix": ".p'a""#),
        .invalidValue, "integrity_checks.temp_suffix", [tempSuffixRule]),
    .init(
        "temp suffix with a non-ASCII letter", Doc.with("integrity_checks", #""temp_suffix": ".pärt""#),
        .invalidValue, "integrity_checks.temp_suffix", [tempSuffixRule]),
    .init(
        "unknown log level", Doc.with("logging", #""level": "verbose""#), .invalidValue, "logging.level",
        [
            #"expected one of "trace", "debug", "info", "notice", "warning", "error", "critical""#,
            #"found "verbose" (a string)"#
        ]),
    .init(
        "log level in capitals", Doc.with("logging", #""level": "INFO""#), .invalidValue, "logging.level",
        [#"found "INFO" (a string)"#]),

    // Unknown keys
    .init(
        "misspelt key", Doc.with("delete_policy", #""delay_minuts": 5"#), .unknownKey, "delete_policy.delay_minuts",
        [#"unknown key; did you mean "delay_minutes"?"#]),
    .init(
        "camelCase key", Doc.with("delete_policy", #""deleteSources": false"#), .unknownKey,
        "delete_policy.deleteSources", [#"did you mean "delete_sources"?"#]),
    .init("swapped letters", Doc.nas(#""hots": "x""#), .unknownKey, "destinations[0].hots", [#"did you mean "host"?"#]),
    .init(
        "misspelt section", Doc.make(extra: #""destination": []"#), .unknownKey, "destination",
        [#"did you mean "destinations"?"#]),
    .init(
        "misspelt type", Doc.make(nas: [#""typ": "nas", "host": "h", "base_path": "/v""#]), .unknownKey,
        "destinations[0].typ", [#"did you mean "type"?"#]),
    .init(
        "key in the wrong section", Doc.with("logging", #""interval_minutes": 5"#), .unknownKey,
        "logging.interval_minutes", [#"unknown key in logging; "interval_minutes" belongs in "schedule""#]),
    .init(
        "destination key at the top level", Doc.make(extra: #""host": "nas.local""#), .unknownKey, "host",
        [#"unknown key at the top level; "host" belongs in each element of "destinations""#]),
    .init(
        "part of a key", Doc.with("schedule", #""interval": 5"#), .unknownKey, "schedule.interval",
        [#"did you mean "interval_minutes"?"#]),
    .init(
        "key with more words", Doc.with("logging", #""log_level": "info""#), .unknownKey, "logging.log_level",
        [#"did you mean "level"?"#]),
    .init("start of a key", Doc.with("state", #""dir": "/x""#), .unknownKey, "state.dir", [#"did you mean "directory"?"#]),
    .init(
        "start of a section", Doc.make(extra: #""concurrency": {}"#), .unknownKey, "concurrency",
        [#"did you mean "concurrency_control"?"#]),
    .init(
        "word of a destination key", Doc.nas(#""timeout": 3"#), .unknownKey, "destinations[0].timeout",
        [#"did you mean "connect_timeout_seconds"?"#]),
    .init(
        "unrelated key", Doc.with("schedule", #""frobnicate": 1"#), .unknownKey, "schedule.frobnicate",
        ["unknown key; expected one of: interval_minutes"]),
    .init(
        "odd key", Doc.with("schedule", #""every day": 1"#), .unknownKey, #"schedule["every day"]"#,
        ["unknown key; expected one of: interval_minutes"]),

    // Duplicate keys
    .init(
        "duplicate key", "{\n \"local\": { \(Doc.local) },\n \"destinations\": [{\n  \(Doc.nas),\n  \"port\": 22,\n  \"port\": 2222\n }]\n}",
        .duplicateKey, "destinations[0].port",
        ["duplicate key at line 6, column 3 (first at line 5, column 3); expected each key once"])
]
