/** Implementation details of the mesh PKI; no public contract. */
package dev.trellis.certs.internal;
