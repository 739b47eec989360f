/** The mesh PKI shared by the control plane and the sidecars. */
package dev.trellis.certs;
