/* busrpc: D-Bus RPC for C. The one public header. */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/**
 * busrpc_version() - the library's version string, e.g. "0.1.0".
 *
 * Return: a static string; never NULL.
 */
const char *busrpc_version(void);

#ifdef __cplusplus
}
#endif
