/** The demo show's flash-sale items (prices in fen), presented in this order, five minutes each. */
export const demoItems = [
  { title: 'Chilean cherries 2 kg (JJ grade)', price: 9900, stock: 500, perUserLimit: 2 },
  { title: 'Yunnan coffee beans 500 g', price: 5900, stock: 300, perUserLimit: 3 },
  { title: 'Handmade ceramic teapot', price: 19900, stock: 80, perUserLimit: 1 },
  { title: 'Down jacket, ultralight', price: 49900, stock: 200, perUserLimit: 1 },
];

/** Run-sheet lines without a listed item: a backup product and lottery prizes. */
export const demoExtras = [
  { role: 'backup' as const, title: 'Backup: Hainan mangoes 5 kg' },
  { role: 'lottery' as const, title: 'Lottery: ceramic cup set' },
  { role: 'lottery' as const, title: 'Lottery: 100-yuan coupon' },
];
