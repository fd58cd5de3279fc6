//! Gyre's Zig SDK: Zig conveniences over the C bindings `gyre build`
//! generates from the plugin's world and the C helper (`gyre.h`), both
//! translated into the module `c` (re-exported here as `gyre.c`).
//!
//! Ownership: every argument an export receives is yours to free (the
//! `*_free` functions of the bindings); everything put in a result or an
//! error is freed by the bindings after the host copied it, so it must come
//! from `gyre.allocator` (malloc).
const std = @import("std");
pub const c = @import("c");

/// malloc-backed: what the bindings free, they free with `free`.
pub const allocator = std.heap.c_allocator;

/// The bytes of a WIT string or `list<u8>`.
pub fn bytes(s: anytype) []const u8 {
    if (s.len == 0) return "";
    return s.ptr[0..s.len];
}

/// A malloc'd WIT string formatted from `fmt` and `args`.
pub fn string(comptime fmt: []const u8, args: anytype) c.plugin_string_t {
    const text = std.fmt.allocPrint(allocator, fmt, args) catch @panic("out of memory");
    return .{ .ptr = text.ptr, .len = text.len };
}

pub const ErrorKind = enum { invalid_config, invalid_input, not_found, denied, unauthorized, internal };

/// Fills `err` with a `kind` error and returns false, so that an export
/// can `return gyre.fail(err, .invalid_input, "...", .{});`.
pub fn fail(err: *c.gyre_error_t, kind: ErrorKind, comptime fmt: []const u8, args: anytype) bool {
    err.tag = @intCast(switch (kind) {
        .invalid_config => c.GYRE_INVALID_CONFIG,
        .invalid_input => c.GYRE_INVALID_INPUT,
        .not_found => c.GYRE_NOT_FOUND,
        .denied => c.GYRE_DENIED,
        .unauthorized => c.GYRE_UNAUTHORIZED,
        .internal => c.GYRE_INTERNAL,
    });
    // Every case but `upstream` carries one string, at the same place.
    err.val.invalid_config = string(fmt, args);
    return false;
}

/// Fills `err` with an `upstream` error and returns false.
pub fn failUpstream(err: *c.gyre_error_t, status: u16, comptime fmt: []const u8, args: anytype) bool {
    err.tag = c.GYRE_PLUGIN_TYPES_PLUGIN_ERROR_UPSTREAM;
    err.val.upstream.status = status;
    err.val.upstream.message = string(fmt, args);
    return false;
}

pub const Level = enum { trace, debug, info, warn, @"error" };

/// One log line, captured by the host per call.
pub fn log(level: Level, comptime fmt: []const u8, args: anytype) void {
    var message = string(fmt, args);
    defer allocator.free(message.ptr[0..message.len]);
    var fields: c.gyre_plugin_log_list_field_t = .{ .ptr = null, .len = 0 };
    c.gyre_plugin_log_emit(@intFromEnum(level), &message, &fields);
}

/// Parses JSON text; null when it is not JSON. Free with `.deinit()`.
pub fn parseJson(text: []const u8) ?std.json.Parsed(std.json.Value) {
    return std.json.parseFromSlice(std.json.Value, allocator, text, .{}) catch null;
}

/// A JSON number as f64; null for anything else.
pub fn number(value: std.json.Value) ?f64 {
    return switch (value) {
        .integer => |i| @floatFromInt(i),
        .float => |f| f,
        else => null,
    };
}

/// `object[key]` when `value` is an object that has it.
pub fn field(value: std.json.Value, key: []const u8) ?std.json.Value {
    return switch (value) {
        .object => |o| o.get(key),
        else => null,
    };
}
