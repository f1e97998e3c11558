# The system's RAUC configuration: two root slots and the keyring that
# update bundles must be signed against.
# An appliance layer, one product: not scoped to a MACHINE or DISTRO.
# nooelint: oelint.vars.noncoreoverride
FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
