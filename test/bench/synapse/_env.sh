# shellcheck shell=bash
# shellcheck disable=SC2034  # SYNAPSE_SH is used by the scripts that source this file
# The benchmark's Synapse settings for the thin wrappers beside this file (sourced, not executed). Synapse itself
# (install, config templates, start/stop) is deploy/local/synapse.sh: see deploy/local/synapse/README.md.
#
# The benchmark compares against Synapse's own MSC4429, so it is on here (deploy/local/synapse.sh's default is
# off, as companion mode wants); rate limits are raised (the default there too). Both can still be overridden.
export MX_SYNAPSE_MSC4429="${MX_SYNAPSE_MSC4429:-true}"
export MX_SYNAPSE_RATE_LIMITS="${MX_SYNAPSE_RATE_LIMITS:-raised}"
SYNAPSE_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/deploy/local/synapse.sh"
