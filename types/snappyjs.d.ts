// snappyjs ships no types; the two calls ScaiVault makes (snappy block format).
declare module 'snappyjs' {
  const snappy: {
    compress<T extends Uint8Array | ArrayBuffer | Buffer>(input: T): T;
    uncompress<T extends Uint8Array | ArrayBuffer | Buffer>(input: T, maxLength?: number): T;
  };
  export default snappy;
}
